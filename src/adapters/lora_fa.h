// LoRA-FA (Zhang et al. 2023), REFERENCE.md §2: LoRA with A frozen at its
// random init and only B trained.
//
//   forward   u = drop(x) Aᵀ [n, r] (kept);  y += s · u Bᵀ
//   backward  dB += s · dyᵀ u;  dx += mask ⊙ ((s · dy B) A) / (1 − p)
//
// Neither needs x, so the layer keeps r numbers per token instead of in:
// needs_input_for_backward() is false and saved_bytes() = n · r · sizeof(T),
// exactly r/in of what a LoRA layer keeps (its input, n · in · sizeof(T)). Dropout is supported at no
// memory cost: its mask is replayed from a saved generator state
// (dropout.h), not stored.
//
// PEFT's create_lorafa_optimizer also projects B's gradient before AdamW:
//   g ← (1/s²) · g · (A Aᵀ + 1e-8 I)⁻¹
// (pinv in PEFT; the matrix is symmetric positive definite, so its inverse).
// project_grad() applies it with the r×r inverse computed once, as A never
// changes.
#pragma once
#include <vector>

#include "adapters/lora.h"

namespace peft {

// g [out, r] ← (1/s²) · g · inv, inv = (A Aᵀ + 1e-8 I)⁻¹ [r, r] (row-major, double).
template <typename T>
void lora_fa_project_grad(const std::vector<double>& inv, int r, double s, T* g, int64_t out);
// (A Aᵀ + 1e-8 I)⁻¹ for A [r, in], in double by Gauss-Jordan elimination.
template <typename T>
std::vector<double> lora_fa_gram_inverse(const T* A, int r, int64_t in);

template <typename T>
class LoraFaAdapter : public LoraAdapter<T> {
 public:
  LoraFaAdapter(const LinearInfo& info, const LoraOptions& opt, const T* W, Rng& rng);

  void forward(const T* x, T* y, int64_t n, bool training) override;
  void backward(const T* x, const T* dy, T* dx, int64_t n) override;
  bool needs_input_for_backward() const override { return false; }
  int64_t saved_bytes() const override;
  // Only B is trainable; A is not visited.
  void visit_params(const ParamVisitor<T>& visit) override;
  void zero_grad() override;

  // B's gradient ← (1/s²) · grad_B · (A Aᵀ + 1e-8 I)⁻¹ (PEFT's LoRA-FA optimizer).
  void project_grad();
  // With the projection on, project_grad() runs before every optimizer step.
  void set_projection(bool on) { project_ = on; }
  void before_optimizer_step() override {
    if (project_) project_grad();
  }

 private:
  std::vector<T> kept_u_;         // [n, r] from the last training forward
  std::vector<double> gram_inv_;  // [r, r], computed on first use
  bool project_ = false;
};

}  // namespace peft
