// VeRA (Kopiczko et al. 2023; PEFT tuners/vera), REFERENCE.md §3.
//
// One frozen random pair for the whole model, sized to the largest adapted
// layer: vera_A [r, max_in], vera_B [max_out, r]. Each layer slices
// A_l = vera_A[:, :in], B_l = vera_B[:out, :] and trains two vectors:
//   y += λ_b ⊙ ((λ_d ⊙ (drop(x) A_lᵀ)) B_lᵀ),   λ_b [out] = 0, λ_d [r] = d_initial.
// No alpha scaling. Parameters per layer: out + r.
//
// Row order: a model loaded from GGUF holds q/k rows in llama.cpp's
// interleaved-rope order, while PEFT's vera_B rows are in HF order. Since
// vera_B is shared it cannot be permuted after training, so such a layer
// takes `row_perm` (our row i is HF row row_perm[i]) and uses
// B_l[i, :] = vera_B[row_perm[i], :]. λ_b stays in this layer's own row
// order: a writer in HF order permutes it, as it does lora_B's rows.
//
// Kept for backward: the input x (kept by the Linear); u, λ_d ⊙ u and the
// product with B_lᵀ are recomputed, so saved_bytes() (own buffers only) is 0.
#pragma once
#include <cstdint>
#include <vector>

#include "core/adapter_slot.h"
#include "adapters/input_dropout.h"

namespace peft {

template <typename T>
class VeraShared {
 public:
  // Drawn from `seed` (PEFT's projection_prng_key): vera_A first, then
  // vera_B, each row-major, Kaiming-uniform with a = 0 over its own fan-in:
  // bound sqrt(6 / max_in) for A [r, max_in] and sqrt(6 / r) for B [max_out, r].
  VeraShared(int rank, int64_t max_in, int64_t max_out, uint64_t seed);
  // From tensors read from a file (save_projection = true).
  VeraShared(int rank, int64_t max_in, int64_t max_out, std::vector<T> A, std::vector<T> B);

  int rank() const { return r_; }
  int64_t max_in() const { return max_in_; }
  int64_t max_out() const { return max_out_; }
  const T* A() const { return A_.data(); }  // [r, max_in]
  const T* B() const { return B_.data(); }  // [max_out, r]

 private:
  int r_ = 0;
  int64_t max_in_ = 0, max_out_ = 0;
  std::vector<T> A_, B_;
};

struct VeraOptions {
  double dropout = 0;
  double d_initial = 0.1;
};

template <typename T>
class VeraAdapter : public Adapter<T> {
 public:
  // `shared` must outlive the adapter. `rng` seeds the dropout generator (one draw).
  VeraAdapter(const LinearInfo& info, const VeraOptions& opt, const VeraShared<T>* shared, Rng& rng,
              std::vector<int32_t> row_perm = {});

  std::string method() const override { return "vera"; }
  void forward(const T* x, T* y, int64_t n, bool training) override;
  void backward(const T* x, const T* dy, T* dx, int64_t n) override;
  bool needs_input_for_backward() const override { return true; }
  int64_t saved_bytes() const override;
  void visit_params(const ParamVisitor<T>& visit) override;
  void zero_grad() override;
  void merge_into(T* W) const override;
  void unmerge_from(T* W) const override;
  Rng* dropout_rng() override { return drop_.rng(); }
  void skip_dropout(int64_t n) override { drop_.skip(n); }

  const LinearInfo& info() const { return info_; }
  int rank() const { return r_; }
  T* lambda_b() { return lb_.data(); }  // [out], this layer's row order
  T* lambda_d() { return ld_.data(); }  // [r]
  const T* lambda_b() const { return lb_.data(); }
  const T* lambda_d() const { return ld_.data(); }
  T* grad_lambda_b() { return glb_.data(); }
  T* grad_lambda_d() { return gld_.data(); }
  const std::vector<int32_t>& row_perm() const { return perm_; }
  // ΔW = B' A' with A' = diag(λ_d) A_l [r, in] and B' = diag(λ_b) B_l [out, r]
  // (rows in this layer's order): VeRA as an exact rank-r LoRA of scale 1.
  void plain_factors(T* A, T* B) const;
  // The same as a PlainLora: rank r, scale 1 (alpha = r).
  PlainLora<T> plain_lora() const override;

 private:
  int64_t hf_row(int64_t i) const { return perm_.empty() ? i : perm_[i]; }
  // Recomputes u [n, r], w = λ_d ⊙ u [n, r] and z = w B_lᵀ [n, out] (HF row order).
  void project(const T* xd, int64_t n);
  void add_delta(T* W, double sign) const;

  LinearInfo info_;
  const VeraShared<T>* shared_;
  int r_ = 0;
  std::vector<int32_t> perm_;
  std::vector<T> lb_, ld_, glb_, gld_;
  InputDropout<T> drop_;  // generator, mask and last_n() of the last training forward
};

}  // namespace peft
