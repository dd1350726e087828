// Delta-LoRA (Zi et al. 2023; not in PEFT), REFERENCE.md §4.
//
// LoRA forward and backward without dropout (so that the gradient of W equals
// that of BA); W itself gets no gradient. After optimizer step t > K:
//   W ← W + λ · s · (B₊A₊ − BA),  computed as B₊(A₊ − A) + (B₊ − B)A.
// The updates telescope: W_t = W_0 + λ·s·(B_t A_t − B_K A_K), where B_K, A_K
// are the values after step K (the init when K = 0). Two ways to run it:
//  - written: after_step receives W and adds the update into it;
//  - telescoped: after_step receives null (a bf16 or quantized base must not
//    be written); past K the adapter's own delta becomes
//      s · ((1 + λ) · B A − λ · B_K A_K) x,
//    the same function of x as the written form. Its parameter gradients are
//    still those of s·BA alone (W's part is not differentiated in the method),
//    while dx gets the whole delta's transpose.
// Either way the trained model is the rank-2r LoRA on the original base
//   B' = [(1+λ)·B_T | −λ·B_K],  A' = [A_T ; A_K],  same s,
// which export_rank2r() returns.
// Kept for backward: x (by the Linear), as LoRA.
#pragma once
#include <vector>

#include "adapters/lora.h"

namespace peft {

struct DeltaLoraOptions {
  double ratio = 2;   // λ
  int64_t start = 0;  // K: the base moves only after steps t > K
};

template <typename T>
class DeltaLoraAdapter : public LoraAdapter<T> {
 public:
  DeltaLoraAdapter(const LinearInfo& info, const LoraOptions& opt, const DeltaLoraOptions& dopt, const T* W,
                   Rng& rng);

  void forward(const T* x, T* y, int64_t n, bool training) override;
  void backward(const T* x, const T* dy, T* dx, int64_t n) override;
  void merge_into(T* W) const override;
  void unmerge_from(T* W) const override;
  // `step` counts the optimizer steps done so far (1 after the first).
  void after_step(T* W, int64_t step) override;

  PlainLora<T> export_rank2r() const;
  PlainLora<T> plain_lora() const override { return export_rank2r(); }
  bool writes_base() const override { return true; }

  double ratio() const { return lambda_; }
  int64_t start() const { return start_; }
  int64_t steps_done() const { return steps_; }
  bool telescoped() const { return mode_ == Mode::kTelescoped; }
  const std::vector<T>& anchor_A() const { return anc_A_; }  // A_K [r, in]
  const std::vector<T>& anchor_B() const { return anc_B_; }  // B_K [out, r]
  // For a resumed run: the step count, whether the base is left unwritten,
  // and A_K, B_K (ignored while steps ≤ K).
  void restore_state(int64_t steps_done, bool telescoped, const std::vector<T>& anchor_A,
                     const std::vector<T>& anchor_B);
  // The same through the generic interface: "<layer>.delta_anchor_A" [r, in],
  // "<layer>.delta_anchor_B" [out, r] and "<layer>.delta_state" [2] =
  // {steps done, 1 if telescoped}. A resumed run with the base written into
  // must also restore the written base weights (they are not trainable, so a
  // checkpoint of trainable tensors misses them); the telescoped form needs
  // nothing else.
  void visit_state(const ParamVisitor<T>& visit) override;
  void state_restored() override;

 private:
  enum class Mode { kUnknown, kWritten, kTelescoped };
  // True once the telescoped extra term is part of the forward.
  bool extra_active() const { return mode_ == Mode::kTelescoped && steps_ > start_; }
  void add_full_delta(T* W, double sign) const;

  double lambda_ = 2;
  int64_t start_ = 0;
  int64_t steps_ = 0;
  Mode mode_ = Mode::kUnknown;
  std::vector<T> prev_A_, prev_B_;  // A, B before the current step
  std::vector<T> anc_A_, anc_B_;    // A_K, B_K (zeros until step K)
  std::vector<T> state_;            // [2]: {steps done, telescoped} as exposed by visit_state
  std::vector<T> v_, dv_, dA_, dB_;  // scratch: [n, r], [n, r], [r, in], [out, r]
};

}  // namespace peft
