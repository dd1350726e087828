#include "ops/layernorm.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace peft::ops {

// Rows are independent, so the forward and the input gradient split over
// rows. The mean and variance use two passes in double: BERT's residual
// stream has rows with a large common offset, where the one-pass
// E[x²] − E[x]² formula loses most of its digits in float.
// The weight and bias gradients are sums over rows: fixed row blocks of
// partials in double, added in block order, so the result does not depend on
// the thread count (determinism, DESIGN.md).
template <typename T>
void layernorm_forward(const T* x, const T* w, const T* b, T* y, T* mean, T* rstd, int64_t rows, int64_t dim,
                       double eps) {
#pragma omp parallel for schedule(static) if (rows * dim > 32768)
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * dim;
    T* yr = y + r * dim;
    double s = 0;
    for (int64_t j = 0; j < dim; ++j) s += xr[j];
    const double mu = s / static_cast<double>(dim);
    double ss = 0;
    for (int64_t j = 0; j < dim; ++j) {
      const double d = xr[j] - mu;
      ss += d * d;
    }
    const double rs = 1.0 / std::sqrt(ss / static_cast<double>(dim) + eps);
    if (mean) mean[r] = static_cast<T>(mu);
    if (rstd) rstd[r] = static_cast<T>(rs);
    const T mu_t = static_cast<T>(mu), rs_t = static_cast<T>(rs);
    for (int64_t j = 0; j < dim; ++j) yr[j] = (xr[j] - mu_t) * rs_t * w[j] + b[j];
  }
}

template <typename T>
void layernorm_backward(const T* dy, const T* x, const T* w, const T* mean, const T* rstd, T* dx, T* dw, T* db,
                        int64_t rows, int64_t dim) {
  // Parameter gradients first: dx may alias dy.
  if (dw || db) {
    constexpr int64_t kBlock = 64;
    const int64_t nblk = (rows + kBlock - 1) / kBlock;
    std::vector<double> pw(static_cast<size_t>(nblk * dim), 0.0), pb(static_cast<size_t>(nblk * dim), 0.0);
#pragma omp parallel for schedule(static) if (rows * dim > 32768)
    for (int64_t blk = 0; blk < nblk; ++blk) {
      double* w_acc = pw.data() + blk * dim;
      double* b_acc = pb.data() + blk * dim;
      const int64_t r1 = std::min(rows, (blk + 1) * kBlock);
      for (int64_t r = blk * kBlock; r < r1; ++r) {
        const double mu = mean[r], rs = rstd[r];
        const T* xr = x + r * dim;
        const T* dyr = dy + r * dim;
        for (int64_t j = 0; j < dim; ++j) {
          w_acc[j] += static_cast<double>(dyr[j]) * (xr[j] - mu) * rs;
          b_acc[j] += dyr[j];
        }
      }
    }
    for (int64_t j = 0; j < dim; ++j) {
      double aw = 0, ab = 0;
      for (int64_t blk = 0; blk < nblk; ++blk) {
        aw += pw[blk * dim + j];
        ab += pb[blk * dim + j];
      }
      if (dw) dw[j] = static_cast<T>(dw[j] + aw);
      if (db) db[j] = static_cast<T>(db[j] + ab);
    }
  }
#pragma omp parallel for schedule(static) if (rows * dim > 32768)
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * dim;
    const T* dyr = dy + r * dim;
    T* dxr = dx + r * dim;
    const double mu = mean[r], rs = rstd[r];
    // mean_k g_k and mean_k g_k x̂_k, with g = dy ⊙ w.
    double sg = 0, sgx = 0;
    for (int64_t j = 0; j < dim; ++j) {
      const double g = static_cast<double>(dyr[j]) * w[j];
      sg += g;
      sgx += g * (xr[j] - mu) * rs;
    }
    const double inv = 1.0 / static_cast<double>(dim);
    const T mg = static_cast<T>(sg * inv), mgx = static_cast<T>(sgx * inv);
    const T mu_t = static_cast<T>(mu), rs_t = static_cast<T>(rs);
    for (int64_t j = 0; j < dim; ++j) {
      const T xhat = (xr[j] - mu_t) * rs_t;
      dxr[j] = rs_t * (dyr[j] * w[j] - mg - xhat * mgx);
    }
  }
}

template <typename T>
void layernorm_forward_ref(const T* x, const T* w, const T* b, T* y, int64_t rows, int64_t dim, double eps) {
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * dim;
    double mu = 0;
    for (int64_t j = 0; j < dim; ++j) mu += xr[j];
    mu /= static_cast<double>(dim);
    double var = 0;
    for (int64_t j = 0; j < dim; ++j) var += (xr[j] - mu) * (xr[j] - mu);
    var /= static_cast<double>(dim);
    for (int64_t j = 0; j < dim; ++j)
      y[r * dim + j] = static_cast<T>((xr[j] - mu) / std::sqrt(var + eps) * static_cast<double>(w[j]) +
                                      static_cast<double>(b[j]));
  }
}

#define PEFT_INST(T)                                                                                              \
  template void layernorm_forward<T>(const T*, const T*, const T*, T*, T*, T*, int64_t, int64_t, double);         \
  template void layernorm_backward<T>(const T*, const T*, const T*, const T*, const T*, T*, T*, T*, int64_t, \
                                      int64_t);                                                                   \
  template void layernorm_forward_ref<T>(const T*, const T*, const T*, T*, int64_t, int64_t, double);
PEFT_INST(float)
PEFT_INST(double)
#undef PEFT_INST

}  // namespace peft::ops
