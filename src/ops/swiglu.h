// SiLU-gated linear unit of the Llama MLP:  h = silu(g) ⊙ u,  silu(g) = g · σ(g)
// Backward: du = dh ⊙ silu(g),  dg = dh ⊙ u ⊙ σ(g) · (1 + g · (1 − σ(g)))
#pragma once
#include <cstdint>

namespace peft::ops {

// g, u, h: [n] (any shape flattened). h may alias neither input.
template <typename T>
void swiglu_forward(const T* g, const T* u, T* h, int64_t n);
// dg and du are overwritten; dg may alias g, du may alias u.
template <typename T>
void swiglu_backward(const T* dh, const T* g, const T* u, T* dg, T* du, int64_t n);

template <typename T>
void swiglu_forward_ref(const T* g, const T* u, T* h, int64_t n);

}  // namespace peft::ops
