// Tensor: a typed, shaped view of memory that it may or may not own.
//
// Shapes are row-major in PyTorch order: a linear weight is [out, in] and the
// last dimension is contiguous. Memory comes either from an owned buffer
// (64-byte aligned) or from someone else's (a memory-mapped file), kept alive
// through `holder`.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/dtype.h"

namespace peft {

using Shape = std::vector<int64_t>;

int64_t shape_numel(const Shape& s);
std::string shape_str(const Shape& s);  // "[64, 172]"

class Tensor {
 public:
  Tensor() = default;
  // Owned, zero-filled.
  static Tensor zeros(DType dtype, Shape shape);
  // A view of memory owned by `holder` (which may be null for unowned memory
  // that outlives the tensor).
  static Tensor view(DType dtype, Shape shape, const void* data, std::shared_ptr<const void> holder);

  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int64_t dim(int i) const { return shape_.at(i < 0 ? shape_.size() + i : i); }
  int ndim() const { return static_cast<int>(shape_.size()); }
  int64_t numel() const { return shape_numel(shape_); }
  int64_t nbytes() const { return dtype_bytes(dtype_, numel()); }
  bool empty() const { return data_ == nullptr; }

  const void* data() const { return data_; }
  void* mutable_data();  // only for owned tensors
  template <typename T> const T* ptr() const { return static_cast<const T*>(data_); }
  template <typename T> T* mutable_ptr() { return static_cast<T*>(mutable_data()); }

  // A copy converted to f32 (dequantized if needed), owned.
  Tensor to_f32() const;
  // A copy in another plain or quantized type, owned.
  Tensor to(DType dtype) const;
  Tensor reshaped(Shape shape) const;  // same memory, same numel

 private:
  DType dtype_ = DType::F32;
  Shape shape_;
  void* data_ = nullptr;
  bool owned_ = false;
  std::shared_ptr<const void> holder_;
};

// A 64-byte aligned buffer of T, for activations and parameters.
template <typename T>
struct AlignedDeleter {
  void operator()(T* p) const { ::operator delete[](p, std::align_val_t(64)); }
};
template <typename T>
using AlignedPtr = std::unique_ptr<T[], AlignedDeleter<T>>;

template <typename T>
AlignedPtr<T> aligned_alloc_zeroed(int64_t n) {
  T* p = static_cast<T*>(::operator new[](sizeof(T) * (n > 0 ? n : 1), std::align_val_t(64)));
  for (int64_t i = 0; i < n; ++i) p[i] = T(0);
  return AlignedPtr<T>(p);
}

// Uninitialised: for activation buffers that are always written before read.
template <typename T>
AlignedPtr<T> aligned_alloc_uninit(int64_t n) {
  return AlignedPtr<T>(static_cast<T*>(::operator new[](sizeof(T) * (n > 0 ? n : 1), std::align_val_t(64))));
}

}  // namespace peft
