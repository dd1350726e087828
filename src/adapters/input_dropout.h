// The dropout an adapter puts on its layer input x [n, in] (LoRA, LoRA-FA,
// VeRA), in one place: the generator, the replayed mask of the last training
// forward (dropout.h), drop(x) for forward and backward, and the way the
// input gradient goes back through the mask.
#pragma once
#include <cstdint>
#include <vector>

#include "adapters/dropout.h"
#include "core/error.h"
#include "core/rng.h"
#include "ops/matmul.h"

namespace peft {

template <typename T>
class InputDropout {
 public:
  InputDropout() = default;
  // p: drop probability (the owner checks it is in [0, 1)); in: input width.
  InputDropout(double p, int64_t in) : p_(p), in_(in) {}

  // Seeds this adapter's own generator with one draw from `rng`.
  void reseed(Rng& rng) { rng_.reseed(rng.next_u64()); }
  Rng* rng() { return &rng_; }
  double p() const { return p_; }

  // Called by each forward: a new mask over [n, in] when training with p > 0,
  // none otherwise. Remembers n for backward (0 when not training).
  void begin(int64_t n, bool training) {
    if (training && p_ > 0) mask_.begin(rng_, p_, n * in_);
    else mask_.clear();
    last_n_ = training ? n : 0;
  }
  // Advances the generator past the draws a training forward over n rows
  // would make, computing nothing (a data-parallel rank skips the rows that
  // the other ranks take, so that every rank draws a single process's masks).
  void skip(int64_t n) {
    if (p_ <= 0) return;
    DropoutReplay m;
    m.begin(rng_, p_, n * in_);
  }
  // Rows of the last training forward; 0 when nothing is kept.
  int64_t last_n() const { return last_n_; }

  // drop(x) [n, in] under the current mask (x itself when there is none).
  const T* apply(const T* x, int64_t n) {
    if (!mask_.active()) return x;
    PEFT_CHECK(mask_.count() == n * in_, "adapters", "dropout mask does not match the input");
    xd_.resize(n * in_);
    mask_.apply(x, xd_.data());
    return xd_.data();
  }

  // The backward of drop(x) M for a projection M [r, in] (leading dimension
  // ldm), given G = d/d(drop(x) Mᵀ) [n, r]:
  //   dx [n, in] += mask ⊙ (G M) / (1 − p)   (dx += G M without a mask).
  void add_input_grad(int64_t n, int r, const T* g, const T* m, int64_t ldm, T* dx) {
    if (mask_.active()) {
      t_.resize(n * in_);
      ops::gemm<T>(false, false, n, in_, r, T(1), g, r, m, ldm, T(0), t_.data(), in_);
      mask_.apply_add(t_.data(), dx);
    } else {
      ops::gemm<T>(false, false, n, in_, r, T(1), g, r, m, ldm, T(1), dx, in_);
    }
  }

 private:
  double p_ = 0;
  int64_t in_ = 0;
  Rng rng_;
  DropoutReplay mask_;  // the mask of the last training forward
  int64_t last_n_ = 0;
  // Scratch, not kept between calls: xd_ [n, in], t_ [n, in].
  std::vector<T> xd_, t_;
};

}  // namespace peft
