// Cosine similarities of rows, the piece every loss here shares: the rows are
// L2-normalised once (ops/l2_normalize), products are taken between unit
// rows, and a gradient with respect to the unit rows is carried back through
// the normalisation.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace peft {

template <typename T>
struct UnitRows {
  std::vector<T> unit;  // [rows, dims]
  std::vector<T> norm;  // [rows]
  int64_t rows = 0, dims = 0;
  const T* row(int64_t r) const { return unit.data() + r * dims; }
};

// x [rows, dims] → unit rows.
template <typename T>
UnitRows<T> unit_rows(const T* x, int64_t rows, int64_t dims);
// dunit [rows, dims] = dL/d(unit rows) → dx [rows, dims] (overwritten).
template <typename T>
void unit_rows_backward(const UnitRows<T>& u, const T* dunit, T* dx);
// Σ_k a_k b_k in double.
template <typename T>
inline double dot(const T* a, const T* b, int64_t n) {
  double s = 0;
  for (int64_t k = 0; k < n; ++k) s += static_cast<double>(a[k]) * static_cast<double>(b[k]);
  return s;
}

}  // namespace peft
