// LoRA (Hu et al. 2021; PEFT tuners/lora), REFERENCE.md §1.
//
//   y += s · (drop(x) Aᵀ) Bᵀ,   A [r, in], B [out, r],
//   s = alpha / r, or alpha / sqrt(r) with rsLoRA.
//
// What it keeps for backward: the input x [n, in], which the Linear keeps on
// its behalf (needs_input_for_backward() is true), and nothing of its own:
// the dropout mask is replayed from a saved generator state (dropout.h) and
// u = drop(x) Aᵀ [n, r] is recomputed in backward (a GEMM of n·in·r, small
// next to the base layer's n·in·out). So saved_bytes() (the adapter's own
// buffers, not x) is 0 and the layer keeps n · in · sizeof(T) in all;
// LoRA-FA's layer keeps n · r · sizeof(T), exactly r/in of it.
#pragma once
#include <string>
#include <vector>

#include "core/adapter_slot.h"
#include "adapters/input_dropout.h"

namespace peft {

struct LoraOptions {
  int rank = 8;
  double alpha = 8;
  bool rslora = false;
  double dropout = 0;
  // "kaiming" (PEFT's default: A ~ U(±1/sqrt(in)), B = 0), "gaussian"
  // (A ~ N(0, std = 1/r) as PEFT's normal_(std=1/r), B = 0), "pissa"
  // (A, B from the top-r SVD of W; the base must then become W − s·BA) or
  // "pissa_niter_K" (the same from K rounds of randomized subspace
  // iteration, PEFT's fast variant, for large layers).
  std::string init = "kaiming";
};

// s = alpha / r, or alpha / sqrt(r) with rsLoRA.
double lora_scaling(double alpha, int rank, bool rslora);

template <typename T>
class LoraAdapter : public Adapter<T> {
 public:
  // `W` [out, in] is read only by the "pissa" init (else it may be null).
  // `rng` draws A; the dropout generator is seeded from one more draw, taken
  // whatever the dropout, so the init streams do not depend on it.
  // With init "pissa", call unmerge_from(W) once afterwards: that turns the
  // base into PiSSA's residual W − s·BA, so the model starts unchanged.
  LoraAdapter(const LinearInfo& info, const LoraOptions& opt, const T* W, Rng& rng);

  std::string method() const override { return method_; }
  // The name reported by method() (lora_plus.cpp sets "lora-plus", which is
  // LoRA with another optimizer rule).
  void set_method_name(const std::string& m) { method_ = m; }

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

  // This adapter as a LoRA on the original base. Usually A, B themselves; a
  // PiSSA adapter (whose base became W − s·B₀A₀) is the rank-2r LoRA
  //   B' = [B | −B₀], A' = [A ; A₀], same s,
  // PEFT's own conversion of PiSSA to LoRA, so any reader can use it.
  PlainLora<T> export_lora() const;
  PlainLora<T> plain_lora() const override { return export_lora(); }

  const LinearInfo& info() const { return info_; }
  int rank() const { return r_; }
  double alpha() const { return alpha_; }
  bool rslora() const { return rslora_; }
  double scaling() const { return s_; }
  double dropout() const { return drop_.p(); }
  T* A() { return A_.data(); }  // [r, in]
  T* B() { return B_.data(); }  // [out, r]
  const T* A() const { return A_.data(); }
  const T* B() const { return B_.data(); }
  T* grad_A() { return gA_.data(); }
  T* grad_B() { return gB_.data(); }

 protected:
  // W += sign · s · B A.
  void add_delta(T* W, double sign) const;

  LinearInfo info_;
  std::string method_ = "lora";
  int r_ = 0;
  double alpha_ = 0, s_ = 0;
  bool rslora_ = false;
  std::vector<T> A_, B_, gA_, gB_;  // [r, in], [out, r] and their gradients
  std::vector<T> init_A_, init_B_;  // PiSSA's A₀, B₀ (empty for other inits)
  InputDropout<T> drop_;  // generator, mask and last_n() of the last training forward
  // Scratch, not kept between calls: u_ [n, r], du_ [n, r].
  std::vector<T> u_, du_;
};

}  // namespace peft
