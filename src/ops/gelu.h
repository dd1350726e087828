// GELU with the exact error function (BERT's hidden_act "gelu"):
//   y = x · Φ(x) = ½ · x · (1 + erf(x / √2))
// Backward: dy/dx = Φ(x) + x · φ(x),  φ(x) = exp(−x²/2) / √(2π)
#pragma once
#include <cstdint>

namespace peft::ops {

// x, y: [n] (any shape flattened). y may alias x.
template <typename T>
void gelu_forward(const T* x, T* y, int64_t n);
// x is the forward input; dx is overwritten and may alias dy (not x).
template <typename T>
void gelu_backward(const T* dy, const T* x, T* dx, int64_t n);

template <typename T>
void gelu_forward_ref(const T* x, T* y, int64_t n);

}  // namespace peft::ops
