// Bias add over rows:  y[r, j] += b[j];   backward  db[j] += Σ_r dy[r, j]
// (the input gradient of a bias add is dy itself, so there is no dx).
#pragma once
#include <cstdint>

namespace peft::ops {

// y: [rows, dim] updated in place; b: [dim].
template <typename T>
void bias_add_forward(T* y, const T* b, int64_t rows, int64_t dim);
// dy: [rows, dim]; db: [dim] accumulated.
template <typename T>
void bias_add_backward(const T* dy, T* db, int64_t rows, int64_t dim);

template <typename T>
void bias_add_forward_ref(T* y, const T* b, int64_t rows, int64_t dim);

}  // namespace peft::ops
