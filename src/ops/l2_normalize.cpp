#include "ops/l2_normalize.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.h"

namespace peft::ops {

namespace {
void check_dims(int64_t in_dim, int64_t dims) {
  if (dims <= 0 || dims > in_dim)
    fail("pooling", "cannot truncate " + std::to_string(in_dim) + "-dimensional embeddings to " +
                        std::to_string(dims) + " dimensions");
}
}  // namespace

template <typename T>
void l2_normalize_forward(const T* x, T* y, T* norm, int64_t rows, int64_t in_dim, int64_t dims) {
  check_dims(in_dim, dims);
#pragma omp parallel for schedule(static) if (rows * dims > 65536)
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * in_dim;
    double ss = 0;
    for (int64_t j = 0; j < dims; ++j) ss += static_cast<double>(xr[j]) * xr[j];
    const double n = std::max(std::sqrt(ss), kL2NormEps);
    if (norm) norm[r] = static_cast<T>(n);
    for (int64_t j = 0; j < dims; ++j) y[r * dims + j] = static_cast<T>(xr[j] / n);
  }
}

template <typename T>
void l2_normalize_backward(const T* dy, const T* y, const T* norm, T* dx, int64_t rows, int64_t in_dim,
                           int64_t dims) {
  check_dims(in_dim, dims);
#pragma omp parallel for schedule(static) if (rows * dims > 65536)
  for (int64_t r = 0; r < rows; ++r) {
    const T* yr = y + r * dims;
    const T* dyr = dy + r * dims;
    T* dxr = dx + r * in_dim;
    const double n = norm[r];
    // Below eps the forward divided by the constant eps: no projection term.
    double dot = 0;
    if (n > kL2NormEps)
      for (int64_t j = 0; j < dims; ++j) dot += static_cast<double>(yr[j]) * dyr[j];
    for (int64_t j = 0; j < dims; ++j) dxr[j] = static_cast<T>((dyr[j] - yr[j] * dot) / n);
    std::fill(dxr + dims, dxr + in_dim, T(0));
  }
}

template <typename T>
void l2_normalize_forward_ref(const T* x, T* y, int64_t rows, int64_t in_dim, int64_t dims) {
  check_dims(in_dim, dims);
  for (int64_t r = 0; r < rows; ++r) {
    double ss = 0;
    for (int64_t j = 0; j < dims; ++j) ss += static_cast<double>(x[r * in_dim + j]) * x[r * in_dim + j];
    const double n = std::max(std::sqrt(ss), kL2NormEps);
    for (int64_t j = 0; j < dims; ++j) y[r * dims + j] = static_cast<T>(x[r * in_dim + j] / n);
  }
}

#define PEFT_INST(T)                                                                                      \
  template void l2_normalize_forward<T>(const T*, T*, T*, int64_t, int64_t, int64_t);                      \
  template void l2_normalize_backward<T>(const T*, const T*, const T*, T*, int64_t, int64_t, int64_t);    \
  template void l2_normalize_forward_ref<T>(const T*, T*, int64_t, int64_t, int64_t);
PEFT_INST(float)
PEFT_INST(double)
#undef PEFT_INST

}  // namespace peft::ops
