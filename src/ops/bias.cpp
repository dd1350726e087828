#include "ops/bias.h"

#include <algorithm>
#include <vector>

namespace peft::ops {

template <typename T>
void bias_add_forward(T* y, const T* b, int64_t rows, int64_t dim) {
#pragma omp parallel for schedule(static) if (rows * dim > 65536)
  for (int64_t r = 0; r < rows; ++r) {
    T* yr = y + r * dim;
#pragma omp simd
    for (int64_t j = 0; j < dim; ++j) yr[j] += b[j];
  }
}

// The column sums run over fixed row blocks whose partials (double) are added
// in block order, so the result depends on the shape only, not on threads.
template <typename T>
void bias_add_backward(const T* dy, T* db, int64_t rows, int64_t dim) {
  constexpr int64_t kBlock = 64;
  const int64_t nblk = (rows + kBlock - 1) / kBlock;
  std::vector<double> part(static_cast<size_t>(nblk * dim), 0.0);
#pragma omp parallel for schedule(static) if (rows * dim > 65536)
  for (int64_t blk = 0; blk < nblk; ++blk) {
    double* acc = part.data() + blk * dim;
    const int64_t r1 = std::min(rows, (blk + 1) * kBlock);
    for (int64_t r = blk * kBlock; r < r1; ++r)
      for (int64_t j = 0; j < dim; ++j) acc[j] += dy[r * dim + j];
  }
  for (int64_t j = 0; j < dim; ++j) {
    double s = 0;
    for (int64_t blk = 0; blk < nblk; ++blk) s += part[blk * dim + j];
    db[j] = static_cast<T>(db[j] + s);
  }
}

template <typename T>
void bias_add_forward_ref(T* y, const T* b, int64_t rows, int64_t dim) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < dim; ++j) y[r * dim + j] = static_cast<T>(static_cast<double>(y[r * dim + j]) + b[j]);
}

#define PEFT_INST(T)                                                     \
  template void bias_add_forward<T>(T*, const T*, int64_t, int64_t);     \
  template void bias_add_backward<T>(const T*, T*, int64_t, int64_t);    \
  template void bias_add_forward_ref<T>(T*, const T*, int64_t, int64_t);
PEFT_INST(float)
PEFT_INST(double)
#undef PEFT_INST

}  // namespace peft::ops
