#include "ops/rmsnorm.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace peft::ops {

// Rows are independent, so the forward and the input gradient split over rows.
// The weight gradient is a sum over rows: each thread accumulates its own
// partial [dim] in double and the partials are added in a fixed order, so the
// result does not depend on scheduling (determinism, DESIGN.md).
template <typename T>
void rmsnorm_forward(const T* x, const T* w, T* y, T* rstd, int64_t rows, int64_t dim, double eps) {
#pragma omp parallel for schedule(static) if (rows * dim > 32768)
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * dim;
    T* yr = y + r * dim;
    double ss = 0;
    for (int64_t j = 0; j < dim; ++j) ss += static_cast<double>(xr[j]) * xr[j];
    const double rs = 1.0 / std::sqrt(ss / static_cast<double>(dim) + eps);
    if (rstd) rstd[r] = static_cast<T>(rs);
    const T rs_t = static_cast<T>(rs);
    for (int64_t j = 0; j < dim; ++j) yr[j] = xr[j] * rs_t * w[j];
  }
}

template <typename T>
void rmsnorm_backward(const T* dy, const T* x, const T* w, const T* rstd, T* dx, T* dw, int64_t rows, int64_t dim) {
  // dw first: dx may alias dy, so dy must be fully consumed for dw before any
  // row of dx is written.
  if (dw) {
    // Fixed row blocks so the summation order is independent of the thread count.
    constexpr int64_t kBlock = 64;
    const int64_t nblk = (rows + kBlock - 1) / kBlock;
    std::vector<double> part(static_cast<size_t>(nblk * dim), 0.0);
#pragma omp parallel for schedule(static) if (rows * dim > 32768)
    for (int64_t b = 0; b < nblk; ++b) {
      double* pb = part.data() + b * dim;
      const int64_t r1 = std::min(rows, (b + 1) * kBlock);
      for (int64_t r = b * kBlock; r < r1; ++r) {
        const double rs = rstd[r];
        const T* xr = x + r * dim;
        const T* dyr = dy + r * dim;
        for (int64_t j = 0; j < dim; ++j) pb[j] += static_cast<double>(dyr[j]) * xr[j] * rs;
      }
    }
    for (int64_t j = 0; j < dim; ++j) {
      double acc = 0;
      for (int64_t b = 0; b < nblk; ++b) acc += part[b * dim + j];
      dw[j] = static_cast<T>(dw[j] + acc);
    }
  }
#pragma omp parallel for schedule(static) if (rows * dim > 32768)
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * dim;
    const T* dyr = dy + r * dim;
    T* dxr = dx + r * dim;
    const double rs = rstd[r];
    // dx_j = rstd · (g_j − x_j · rstd² · mean_k(g_k x_k)),  g = dy ⊙ w
    double dot = 0;
    for (int64_t j = 0; j < dim; ++j) dot += static_cast<double>(dyr[j]) * w[j] * xr[j];
    const T c = static_cast<T>(rs * rs * rs * dot / static_cast<double>(dim));
    const T rs_t = static_cast<T>(rs);
    for (int64_t j = 0; j < dim; ++j) dxr[j] = rs_t * dyr[j] * w[j] - c * xr[j];
  }
}

template <typename T>
void rmsnorm_forward_ref(const T* x, const T* w, T* y, int64_t rows, int64_t dim, double eps) {
  for (int64_t r = 0; r < rows; ++r) {
    double ss = 0;
    for (int64_t j = 0; j < dim; ++j) ss += static_cast<double>(x[r * dim + j]) * x[r * dim + j];
    const double rs = 1.0 / std::sqrt(ss / static_cast<double>(dim) + eps);
    for (int64_t j = 0; j < dim; ++j)
      y[r * dim + j] = static_cast<T>(static_cast<double>(x[r * dim + j]) * rs * static_cast<double>(w[j]));
  }
}

#define PEFT_INST(T)                                                                                \
  template void rmsnorm_forward<T>(const T*, const T*, T*, T*, int64_t, int64_t, double);           \
  template void rmsnorm_backward<T>(const T*, const T*, const T*, const T*, T*, T*, int64_t, int64_t); \
  template void rmsnorm_forward_ref<T>(const T*, const T*, T*, int64_t, int64_t, double);
PEFT_INST(float)
PEFT_INST(double)
#undef PEFT_INST

}  // namespace peft::ops
