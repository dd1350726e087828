#include "embed/cosine_rows.h"

#include "ops/l2_normalize.h"

namespace peft {

template <typename T>
UnitRows<T> unit_rows(const T* x, int64_t rows, int64_t dims) {
  UnitRows<T> u;
  u.rows = rows;
  u.dims = dims;
  u.unit.resize(static_cast<size_t>(rows * dims));
  u.norm.resize(static_cast<size_t>(rows));
  ops::l2_normalize_forward(x, u.unit.data(), u.norm.data(), rows, dims, dims);
  return u;
}

template <typename T>
void unit_rows_backward(const UnitRows<T>& u, const T* dunit, T* dx) {
  ops::l2_normalize_backward(dunit, u.unit.data(), u.norm.data(), dx, u.rows, u.dims, u.dims);
}

template UnitRows<float> unit_rows<float>(const float*, int64_t, int64_t);
template UnitRows<double> unit_rows<double>(const double*, int64_t, int64_t);
template void unit_rows_backward<float>(const UnitRows<float>&, const float*, float*);
template void unit_rows_backward<double>(const UnitRows<double>&, const double*, double*);

}  // namespace peft
