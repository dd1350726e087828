#include "ops/swiglu.h"

#include <cmath>

namespace peft::ops {

// Elementwise, so the work splits over n directly. σ(g) = 1 / (1 + e^(−g)) is
// evaluated as written: for very negative g, e^(−g) overflows to inf and σ
// becomes 0, which is the correct limit (no NaN).
template <typename T>
void swiglu_forward(const T* g, const T* u, T* h, int64_t n) {
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) {
    const T s = T(1) / (T(1) + std::exp(-g[i]));
    h[i] = g[i] * s * u[i];
  }
}

template <typename T>
void swiglu_backward(const T* dh, const T* g, const T* u, T* dg, T* du, int64_t n) {
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) {
    const T gi = g[i], ui = u[i], d = dh[i];
    const T s = T(1) / (T(1) + std::exp(-gi));
    // d silu / dg = σ + g σ (1 − σ) = σ (1 + g (1 − σ))
    const T dsilu = s * (T(1) + gi * (T(1) - s));
    dg[i] = d * ui * dsilu;
    du[i] = d * gi * s;
  }
}

template <typename T>
void swiglu_forward_ref(const T* g, const T* u, T* h, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const double gi = g[i];
    h[i] = static_cast<T>(gi / (1.0 + std::exp(-gi)) * static_cast<double>(u[i]));
  }
}

#define PEFT_INST(T)                                                                     \
  template void swiglu_forward<T>(const T*, const T*, T*, int64_t);                      \
  template void swiglu_backward<T>(const T*, const T*, const T*, T*, T*, int64_t);       \
  template void swiglu_forward_ref<T>(const T*, const T*, T*, int64_t);
PEFT_INST(float)
PEFT_INST(double)
#undef PEFT_INST

}  // namespace peft::ops
