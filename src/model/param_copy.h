#pragma once
// Filling a model parameter from a tensor read from a file (safetensors or
// GGUF), whatever the file's float type: F64 files keep full precision in a
// double model; everything else goes through f32.

#include <cstring>
#include <type_traits>

#include "core/tensor.h"
#include "model/param.h"

namespace peft {

// Copies `t` into `p`, converting to T. The caller has checked the shapes.
template <typename T>
void copy_into(const Tensor& t, Param<T>& p) {
  T* dst = p.data.get();
  if constexpr (std::is_same_v<T, double>) {
    if (t.dtype() == DType::F64) {
      std::memcpy(dst, t.ptr<double>(), sizeof(double) * p.numel());
      return;
    }
  }
  Tensor f = t.dtype() == DType::F32 ? t : t.to_f32();
  const float* src = f.ptr<float>();
  for (int64_t i = 0; i < p.numel(); ++i) dst[i] = static_cast<T>(src[i]);
}

}  // namespace peft
