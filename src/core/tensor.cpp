#include "core/tensor.h"

#include <cstring>
#include <new>

#include "core/error.h"

namespace peft {

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

std::string shape_str(const Shape& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + "]";
}

namespace {
struct AlignedBytes {
  void* p;
  explicit AlignedBytes(size_t n) : p(::operator new[](n ? n : 1, std::align_val_t(64))) { std::memset(p, 0, n); }
  ~AlignedBytes() { ::operator delete[](p, std::align_val_t(64)); }
};
}  // namespace

Tensor Tensor::zeros(DType dtype, Shape shape) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  for (int64_t d : t.shape_) PEFT_CHECK(d >= 0, "tensor", "negative dimension");
  auto buf = std::make_shared<AlignedBytes>(static_cast<size_t>(t.nbytes()));
  t.data_ = buf->p;
  t.owned_ = true;
  t.holder_ = std::shared_ptr<const void>(buf, buf->p);
  return t;
}

Tensor Tensor::view(DType dtype, Shape shape, const void* data, std::shared_ptr<const void> holder) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.data_ = const_cast<void*>(data);
  t.owned_ = false;
  t.holder_ = std::move(holder);
  return t;
}

void* Tensor::mutable_data() {
  PEFT_CHECK(owned_, "tensor", "writing into a tensor that views memory it does not own");
  return data_;
}

Tensor Tensor::to_f32() const {
  Tensor r = zeros(DType::F32, shape_);
  peft::to_f32(dtype_, data_, static_cast<float*>(r.data_), numel());
  return r;
}

Tensor Tensor::to(DType dtype) const {
  if (dtype == DType::F32) return to_f32();
  Tensor f = dtype_ == DType::F32 ? *this : to_f32();
  Tensor r = zeros(dtype, shape_);
  from_f32(dtype, f.ptr<float>(), r.data_, numel());
  return r;
}

Tensor Tensor::reshaped(Shape shape) const {
  PEFT_CHECK(shape_numel(shape) == numel(), "tensor", "reshape changes the element count");
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

}  // namespace peft
