// Token embedding: y[i, :] = W[ids[i], :];  backward dW[ids[i], :] += dy[i, :].
#pragma once
#include <cstdint>

namespace peft::ops {

// W: [vocab, dim]; ids: [n]; y: [n, dim]. Ids out of range raise InputError "[embedding] ...".
template <typename T>
void embedding_forward(const T* W, const int32_t* ids, T* y, int64_t n, int64_t vocab, int64_t dim);
template <typename T>
void embedding_backward(const T* dy, const int32_t* ids, T* dW, int64_t n, int64_t vocab, int64_t dim);

}  // namespace peft::ops
