#include "core/stored_matrix.h"

#include <algorithm>
#include <cstring>
#include <new>
#include <vector>

#include "core/error.h"

namespace peft {

bool storable_as(DType dtype, int64_t cols) {
  if (dtype == DType::I32 || dtype == DType::F64) return false;
  return cols > 0 && cols % dtype_block_size(dtype) == 0;
}

StoredMatrix StoredMatrix::allocate(DType dtype, int64_t rows, int64_t cols) {
  if (!storable_as(dtype, cols))
    fail("model", std::string("a matrix of ") + std::to_string(cols) + " columns cannot be stored as " +
                      dtype_name(dtype) + " (rows must hold whole blocks of " +
                      std::to_string(dtype_block_size(dtype)) + ")");
  StoredMatrix m;
  m.dtype_ = dtype;
  m.rows_ = rows;
  m.cols_ = cols;
  m.row_bytes_ = dtype_bytes(dtype, cols);
  const size_t n = static_cast<size_t>(std::max<int64_t>(1, m.row_bytes_ * rows));
  m.bytes_ = std::shared_ptr<uint8_t[]>(static_cast<uint8_t*>(::operator new[](n, std::align_val_t(64))),
                                        [](uint8_t* p) { ::operator delete[](p, std::align_val_t(64)); });
  return m;
}

StoredMatrix StoredMatrix::from_f32(DType dtype, const float* src, int64_t rows, int64_t cols) {
  StoredMatrix m = allocate(dtype, rows, cols);
#pragma omp parallel for schedule(static) if (rows * cols > 65536)
  for (int64_t r = 0; r < rows; ++r) ::peft::from_f32(dtype, src + r * cols, m.mutable_row(r), cols);
  return m;
}

StoredMatrix StoredMatrix::convert(DType dtype, DType src_type, const void* src, int64_t rows, int64_t cols) {
  StoredMatrix m = allocate(dtype, rows, cols);
  if (dtype == src_type) {
    std::memcpy(m.bytes_.get(), src, static_cast<size_t>(m.nbytes()));
    return m;
  }
  const int64_t src_row = dtype_bytes(src_type, cols);
  const uint8_t* s = static_cast<const uint8_t*>(src);
#pragma omp parallel
  {
    std::vector<float> row(static_cast<size_t>(cols));
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      to_f32(src_type, s + r * src_row, row.data(), cols);
      ::peft::from_f32(dtype, row.data(), m.mutable_row(r), cols);
    }
  }
  return m;
}

void StoredMatrix::rows_to_f32(int64_t r0, int64_t nr, float* dst) const {
  PEFT_CHECK(r0 >= 0 && r0 + nr <= rows_, "model", "stored matrix rows out of range");
  // Rows are independent: blocks never straddle them.
  to_f32(dtype_, row(r0), dst, nr * cols_);
}

}  // namespace peft
