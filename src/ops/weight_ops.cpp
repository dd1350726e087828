#include "ops/weight_ops.h"

#include <string>

#include "core/error.h"
#include "ops/backend.h"
#include "ops/embedding.h"
#include "ops/matmul.h"

namespace peft::ops {

namespace {

template <typename T>
const StoredMatrix& stored_for(const WeightRef<T>& W, int64_t cols) {
  if constexpr (!std::is_same_v<T, float>) internal_fail("ops", "stored weights exist only in f32 models");
  PEFT_CHECK(W.stored->cols() == cols, "ops", "stored weight has " + std::to_string(W.stored->cols()) +
                                                  " columns, expected " + std::to_string(cols));
  return *W.stored;
}

}  // namespace

template <typename T>
void weight_rows_t(const T* x, int64_t n, int64_t cols, std::type_identity_t<WeightRef<T>> W, int64_t r0, int64_t nr,
                   T* y, int64_t ldy, T beta) {
  if (!W.is_stored()) {
    gemm<T>(false, true, n, nr, cols, T(1), x, cols, W.dense + r0 * cols, cols, beta, y, ldy);
    return;
  }
  if constexpr (std::is_same_v<T, float>) backend().matmul_rows_t(x, n, stored_for(W, cols), r0, nr, y, ldy, beta);
  else stored_for(W, cols);
}

template <typename T>
void rows_weight(const T* dy, int64_t ldd, int64_t n, std::type_identity_t<WeightRef<T>> W, int64_t r0, int64_t nr,
                 int64_t cols, T* dx, T beta) {
  if (!W.is_stored()) {
    gemm<T>(false, false, n, cols, nr, T(1), dy, ldd, W.dense + r0 * cols, cols, beta, dx, cols);
    return;
  }
  if constexpr (std::is_same_v<T, float>) backend().matmul_rows(dy, ldd, n, stored_for(W, cols), r0, nr, dx, beta);
  else stored_for(W, cols);
}

template <typename T>
void weight_gather_rows(std::type_identity_t<WeightRef<T>> W, const int32_t* ids, T* y, int64_t n, int64_t vocab,
                        int64_t dim) {
  if (!W.is_stored()) {
    embedding_forward<T>(W.dense, ids, y, n, vocab, dim);
    return;
  }
  for (int64_t i = 0; i < n; ++i)
    if (ids[i] < 0 || ids[i] >= vocab)
      fail("embedding", "token id " + std::to_string(ids[i]) + " is outside the vocabulary of " + std::to_string(vocab));
  if constexpr (std::is_same_v<T, float>) backend().gather_rows(stored_for(W, dim), ids, n, y);
  else stored_for(W, dim);
}

#define PEFT_INST(T)                                                                                                 \
  template void weight_rows_t<T>(const T*, int64_t, int64_t, WeightRef<T>, int64_t, int64_t, T*, int64_t, T);     \
  template void rows_weight<T>(const T*, int64_t, int64_t, WeightRef<T>, int64_t, int64_t, int64_t, T*, T);       \
  template void weight_gather_rows<T>(WeightRef<T>, const int32_t*, T*, int64_t, int64_t, int64_t);
PEFT_INST(float)
PEFT_INST(double)
#undef PEFT_INST

}  // namespace peft::ops
