#include "ops/swiglu.h"

#include <cmath>

#include "ops/vec_exp.h"

namespace peft::ops {

namespace {

// σ(g) = 1 / (1 + e^(−g)). In float through exp_fast, so the loops below
// vectorise (std::exp is a libm call per element); exp_fast clamps its
// argument to ±88, so for g < −88 σ is ~1e-38 instead of exactly 0 and
// silu(g) = g·σ(g) underflows to 0 either way. Double keeps std::exp (the
// gradient checks run in double).
inline float sigmoid(float g) { return 1.0f / (1.0f + exp_fast(-g)); }
inline double sigmoid(double g) { return 1.0 / (1.0 + std::exp(-g)); }

}  // namespace

// Elementwise, so the work splits over n directly.
template <typename T>
void swiglu_forward(const T* g, const T* u, T* h, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) h[i] = g[i] * sigmoid(g[i]) * u[i];
}

template <typename T>
void swiglu_backward(const T* dh, const T* g, const T* u, T* dg, T* du, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) {
    const T gi = g[i], ui = u[i], d = dh[i];
    const T s = sigmoid(gi);
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
