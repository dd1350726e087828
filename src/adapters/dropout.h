// Inverted dropout on an adapter's input, with a mask that is never stored.
//
// drop(x)[i] = keep_i · x[i] / (1 − p), keep_i = [u_i ≥ p], u_i ~ U[0,1).
// Instead of keeping the mask [n, in] for backward, a forward remembers the
// generator's state before it drew the mask (16 bytes) and backward replays
// the same draws. So dropout costs no activation memory, and LoRA-FA can use
// it without keeping anything of size `in` per token.
#pragma once
#include <cstdint>

#include "core/rng.h"

namespace peft {

class DropoutReplay {
 public:
  // Starts a new mask over `count` elements: remembers where `rng` stands and
  // advances it past the draws this mask uses, so the next mask differs.
  void begin(Rng& rng, double p, int64_t count) {
    start_ = rng;
    p_ = p;
    count_ = count;
    active_ = p > 0;
    if (active_)
      for (int64_t i = 0; i < count; ++i) rng.uniform();
  }
  void clear() { active_ = false; count_ = 0; }
  bool active() const { return active_; }
  double p() const { return p_; }
  int64_t count() const { return count_; }

  // out[i] = keep_i · x[i] / (1 − p).
  template <typename T>
  void apply(const T* x, T* out) const {
    Rng r = start_;
    const float pf = static_cast<float>(p_);
    const T inv = static_cast<T>(1.0 / (1.0 - p_));
    for (int64_t i = 0; i < count_; ++i) out[i] = r.uniform() >= pf ? x[i] * inv : T(0);
  }
  // acc[i] += keep_i · g[i] / (1 − p): the backward of apply().
  template <typename T>
  void apply_add(const T* g, T* acc) const {
    Rng r = start_;
    const float pf = static_cast<float>(p_);
    const T inv = static_cast<T>(1.0 / (1.0 - p_));
    for (int64_t i = 0; i < count_; ++i)
      if (r.uniform() >= pf) acc[i] += g[i] * inv;
  }

 private:
  Rng start_;
  double p_ = 0;
  int64_t count_ = 0;
  bool active_ = false;
};

}  // namespace peft
