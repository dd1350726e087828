// L2 normalisation of rows, with Matryoshka truncation to the first `dims`
// columns (the norm is taken over the kept columns only):
//   n_r = max(‖x_r[0:dims]‖₂, eps),   y_r = x_r[0:dims] / n_r     (eps = 1e-12, as torch's F.normalize)
// Backward: dx_r[0:dims] = (dy_r − y_r · (y_r · dy_r)) / n_r when the norm is
// above eps (dy_r / eps otherwise); dx_r[dims:] = 0.
#pragma once
#include <cstdint>

namespace peft::ops {

constexpr double kL2NormEps = 1e-12;

// x: [rows, in_dim]; y: [rows, dims] with dims ≤ in_dim; norm (saved): [rows] or null.
template <typename T>
void l2_normalize_forward(const T* x, T* y, T* norm, int64_t rows, int64_t in_dim, int64_t dims);
// y, norm: from the forward. dx: [rows, in_dim], overwritten.
template <typename T>
void l2_normalize_backward(const T* dy, const T* y, const T* norm, T* dx, int64_t rows, int64_t in_dim, int64_t dims);

template <typename T>
void l2_normalize_forward_ref(const T* x, T* y, int64_t rows, int64_t in_dim, int64_t dims);

}  // namespace peft::ops
