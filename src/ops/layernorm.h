// LayerNorm over the last dimension, with weight and bias (BERT's norm):
//   μ_r = mean_j x_rj,  rstd_r = 1 / sqrt(mean_j (x_rj − μ_r)² + eps)
//   x̂_rj = (x_rj − μ_r) · rstd_r,   y_rj = x̂_rj · w_j + b_j
// Backward (per row, with g_j = dy_j · w_j):
//   dx_j = rstd · (g_j − mean_k g_k − x̂_j · mean_k(g_k · x̂_k))
//   dw_j += Σ_r dy_rj · x̂_rj,   db_j += Σ_r dy_rj
#pragma once
#include <cstdint>

namespace peft::ops {

// x, y: [rows, dim]; w, b: [dim]; mean, rstd (saved for backward): [rows],
// either may be null when nothing is kept. y may alias x.
template <typename T>
void layernorm_forward(const T* x, const T* w, const T* b, T* y, T* mean, T* rstd, int64_t rows, int64_t dim,
                       double eps);
// x is the forward input. dx: [rows, dim] (overwritten; may alias dy). dw, db:
// [dim], accumulated, or null when frozen.
template <typename T>
void layernorm_backward(const T* dy, const T* x, const T* w, const T* mean, const T* rstd, T* dx, T* dw, T* db,
                        int64_t rows, int64_t dim);

template <typename T>
void layernorm_forward_ref(const T* x, const T* w, const T* b, T* y, int64_t rows, int64_t dim, double eps);

}  // namespace peft::ops
