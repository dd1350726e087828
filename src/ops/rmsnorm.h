// RMSNorm over the last dimension:
//   rstd_r = 1 / sqrt(mean_j x_rj² + eps),   y_rj = x_rj · rstd_r · w_j
// Backward (per row, with g_j = dy_j · w_j):
//   dx_j = rstd · (g_j − x_j · rstd² · mean_k(g_k · x_k)),   dw_j += Σ_r dy_rj · x_rj · rstd_r
#pragma once
#include <cstdint>

namespace peft::ops {

// x, y: [rows, dim]; w: [dim]; rstd (saved for backward): [rows]. y may alias x.
template <typename T>
void rmsnorm_forward(const T* x, const T* w, T* y, T* rstd, int64_t rows, int64_t dim, double eps);
// dx: [rows, dim] (overwritten; may alias dy); dw: [dim] accumulated, or null when w is frozen.
template <typename T>
void rmsnorm_backward(const T* dy, const T* x, const T* w, const T* rstd, T* dx, T* dw, int64_t rows, int64_t dim);

template <typename T>
void rmsnorm_forward_ref(const T* x, const T* w, T* y, int64_t rows, int64_t dim, double eps);

}  // namespace peft::ops
