// A frozen weight matrix held in its storage type (DESIGN.md: storage type is
// separate from the compute type f32).
//
// [rows, cols] row-major, each row `dtype_bytes(dtype, cols)` bytes, so a row
// (or a panel of rows) can be dequantized on its own: block-quantized types
// have their blocks along the row, and cols is a multiple of the block size.
// Kernels never see a whole f32 copy: they dequantize a panel of rows at a
// time into a small f32 buffer (see ops/backend.h).
//
// The bytes live in memory the backend allocated (host memory for the CPU
// backend; a device backend would hold device memory and keep `bytes` null).
#pragma once
#include <cstdint>
#include <memory>

#include "core/dtype.h"

namespace peft {

class StoredMatrix {
 public:
  StoredMatrix() = default;
  // Owned, uninitialised host storage for [rows, cols] of `dtype`.
  static StoredMatrix allocate(DType dtype, int64_t rows, int64_t cols);
  // Converts f32 [rows, cols] into `dtype` (rounding or quantizing).
  static StoredMatrix from_f32(DType dtype, const float* src, int64_t rows, int64_t cols);
  // Rows encoded as `src_type` (e.g. a GGUF tensor's bytes), copied when the
  // types agree, else converted a chunk of rows at a time through f32.
  static StoredMatrix convert(DType dtype, DType src_type, const void* src, int64_t rows, int64_t cols);

  bool empty() const { return bytes_ == nullptr; }
  DType dtype() const { return dtype_; }
  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }
  int64_t row_bytes() const { return row_bytes_; }
  int64_t nbytes() const { return row_bytes_ * rows_; }
  const uint8_t* row(int64_t r) const { return bytes_.get() + r * row_bytes_; }
  uint8_t* mutable_row(int64_t r) { return bytes_.get() + r * row_bytes_; }

  // dst [nr, cols] f32 = rows r0 .. r0+nr.
  void rows_to_f32(int64_t r0, int64_t nr, float* dst) const;
  void reset() { *this = StoredMatrix(); }

 private:
  DType dtype_ = DType::F32;
  int64_t rows_ = 0, cols_ = 0, row_bytes_ = 0;
  std::shared_ptr<uint8_t[]> bytes_;
};

// Whether a matrix of `cols` columns can be held as `dtype` (block-quantized
// types need whole blocks along each row).
bool storable_as(DType dtype, int64_t cols);

}  // namespace peft
