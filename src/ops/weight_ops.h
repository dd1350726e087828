// Products with a weight matrix W [rows, cols] that is either dense in the
// compute type or a StoredMatrix (bf16, f16, quantized) held by the backend.
// Callers hold a WeightRef and never branch on the storage: dense weights go
// to gemm, stored ones to the active backend (ops/backend.h). Stored weights
// exist only in f32 models; the double-precision twins used by the gradient
// checks are always dense.
#pragma once
#include <cstdint>
#include <type_traits>

#include "core/stored_matrix.h"

namespace peft::ops {

template <typename T>
struct WeightRef {
  const T* dense = nullptr;
  const StoredMatrix* stored = nullptr;
  WeightRef() = default;
  WeightRef(const T* d) : dense(d) {}  // NOLINT: a dense pointer is a weight
  explicit WeightRef(const StoredMatrix* s) : stored(s) {}
  bool is_stored() const { return stored != nullptr; }
};

// y[n, nr] (row stride ldy) = x[n, cols] · W[r0 : r0+nr]ᵀ + beta · y
template <typename T>
void weight_rows_t(const T* x, int64_t n, int64_t cols, std::type_identity_t<WeightRef<T>> W, int64_t r0, int64_t nr,
                   T* y, int64_t ldy, T beta);
// dx[n, cols] = dy[n, nr] (row stride ldd) · W[r0 : r0+nr] + beta · dx
template <typename T>
void rows_weight(const T* dy, int64_t ldd, int64_t n, std::type_identity_t<WeightRef<T>> W, int64_t r0, int64_t nr,
                 int64_t cols, T* dx, T beta);
// y[i, :] = W[ids[i], :]; ids outside [0, vocab) raise "[embedding] ...".
template <typename T>
void weight_gather_rows(std::type_identity_t<WeightRef<T>> W, const int32_t* ids, T* y, int64_t n, int64_t vocab,
                        int64_t dim);

}  // namespace peft::ops
