#include "ops/embedding.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "core/error.h"

namespace peft::ops {

namespace {
void check_ids(const int32_t* ids, int64_t n, int64_t vocab) {
  for (int64_t i = 0; i < n; ++i)
    if (ids[i] < 0 || ids[i] >= vocab)
      fail("embedding", "token id " + std::to_string(ids[i]) + " at position " + std::to_string(i) +
                            " is outside the vocabulary [0, " + std::to_string(vocab) + ")");
}
}  // namespace

// All ids are validated before anything is written, so a bad id leaves the
// output untouched rather than half filled.
template <typename T>
void embedding_forward(const T* W, const int32_t* ids, T* y, int64_t n, int64_t vocab, int64_t dim) {
  check_ids(ids, n, vocab);
#pragma omp parallel for schedule(static) if (n * dim > 65536)
  for (int64_t i = 0; i < n; ++i)
    std::memcpy(y + i * dim, W + static_cast<int64_t>(ids[i]) * dim, sizeof(T) * static_cast<size_t>(dim));
}

// Repeated ids scatter into the same row, so the scatter is split over
// columns instead of tokens: each thread owns a column range of every row and
// walks the tokens in order, which is race-free and deterministic.
template <typename T>
void embedding_backward(const T* dy, const int32_t* ids, T* dW, int64_t n, int64_t vocab, int64_t dim) {
  check_ids(ids, n, vocab);
  constexpr int64_t kCols = 64;
  const int64_t nblk = (dim + kCols - 1) / kCols;
#pragma omp parallel for schedule(static) if (n * dim > 65536)
  for (int64_t b = 0; b < nblk; ++b) {
    const int64_t c0 = b * kCols, c1 = std::min(dim, c0 + kCols);
    for (int64_t i = 0; i < n; ++i) {
      T* row = dW + static_cast<int64_t>(ids[i]) * dim;
      const T* g = dy + i * dim;
      for (int64_t c = c0; c < c1; ++c) row[c] += g[c];
    }
  }
}

#define PEFT_INST(T)                                                                              \
  template void embedding_forward<T>(const T*, const int32_t*, T*, int64_t, int64_t, int64_t);    \
  template void embedding_backward<T>(const T*, const int32_t*, T*, int64_t, int64_t, int64_t);
PEFT_INST(float)
PEFT_INST(double)
#undef PEFT_INST

}  // namespace peft::ops
