// A named model tensor in the compute type T with an optional gradient.
// Frozen parameters have no gradient buffer at all (DESIGN.md: frozen
// tensors get neither gradients nor optimizer state).
//
// A frozen matrix may instead be held in a storage type (bf16, f16, a GGUF
// quant type) as a StoredMatrix: then `data` is null and products go through
// weight() (ops/weight_ops.h). Making it trainable converts it to an f32
// master first, so everything that trains always sees `data`.
#pragma once
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "core/adapter_slot.h"
#include "core/error.h"
#include "core/stored_matrix.h"
#include "core/tensor.h"
#include "ops/backend.h"
#include "ops/weight_ops.h"

namespace peft {

template <typename T>
struct Param {
  std::string name;  // GGUF-style, e.g. "blk.0.attn_norm.weight"
  Shape shape;
  AlignedPtr<T> data;  // null when held in `stored`
  AlignedPtr<T> grad;  // null when frozen
  StoredMatrix stored; // frozen matrix in its storage type (f32 models only)
  std::string group;   // optimizer group tag: "base", "norm", "embed", "bias"

  int64_t numel() const { return shape_numel(shape); }
  bool empty() const { return data == nullptr && stored.empty(); }
  bool frozen() const { return grad == nullptr; }
  bool is_stored() const { return !stored.empty(); }
  // The storage type: F32 for dense f32 (and double) parameters.
  DType storage_type() const { return is_stored() ? stored.dtype() : DType::F32; }
  // Bytes the values take (not the gradient).
  int64_t value_bytes() const { return is_stored() ? stored.nbytes() : numel() * static_cast<int64_t>(sizeof(T)); }
  ops::WeightRef<T> weight() const { return is_stored() ? ops::WeightRef<T>(&stored) : ops::WeightRef<T>(data.get()); }

  // `zeroed` false leaves the values uninitialised, for a loader that
  // writes every value or replaces the buffer (hold_as): pages never written
  // take no memory, so a base held in a storage type is never resident at
  // its f32 size, even for a moment.
  void allocate(std::string n, Shape s, std::string g, bool zeroed = true) {
    name = std::move(n);
    shape = std::move(s);
    group = std::move(g);
    data = zeroed ? aligned_alloc_zeroed<T>(numel()) : aligned_alloc_uninit<T>(numel());
  }
  // A matrix that will be filled as `dtype` (the loader's path for frozen
  // bases): drops the dense buffer without ever holding both.
  void hold_as(StoredMatrix m) {
    const bool fits = std::is_same_v<T, float> && shape.size() == 2 && m.rows() == shape[0] && m.cols() == shape[1];
    PEFT_CHECK(fits, "model", "stored matrix does not match parameter '" + name + "'");
    PEFT_CHECK(frozen(), "model", "parameter '" + name + "' is trainable and cannot be stored");
    data.reset();
    stored = std::move(m);
  }
  // Converts the dense values into `dtype` (F32: nothing to do).
  void store_as(DType dtype) {
    if (dtype == DType::F32 && !is_stored()) return;
    if constexpr (std::is_same_v<T, float>) {
      std::vector<float> tmp;
      const float* src = data.get();
      if (is_stored()) {  // re-encode: through f32, a panel at a time would do, but this runs once
        tmp.resize(static_cast<size_t>(numel()));
        ops::backend().rows_to_f32(stored, 0, shape[0], tmp.data());
        src = tmp.data();
      }
      if (dtype == DType::F32) {
        data = aligned_alloc_uninit<T>(numel());
        std::memcpy(data.get(), src, sizeof(float) * numel());
        stored.reset();
        return;
      }
      hold_as(ops::backend().store(dtype, src, shape[0], shape[1]));
    } else {
      internal_fail("model", "only f32 models hold stored weights");
    }
  }
  // Back to a dense f32 (compute type) copy: for training the tensor, or
  // for code that rewrites the base (merging, PiSSA, Delta-LoRA).
  void materialize() {
    if (!is_stored()) return;
    data = aligned_alloc_uninit<T>(numel());
    if constexpr (std::is_same_v<T, float>) {
      ops::backend().rows_to_f32(stored, 0, shape[0], data.get());
    } else {
      std::vector<float> tmp(static_cast<size_t>(numel()));
      ops::backend().rows_to_f32(stored, 0, shape[0], tmp.data());
      for (int64_t i = 0; i < numel(); ++i) data[i] = static_cast<T>(tmp[i]);
    }
    stored.reset();
  }
  void set_trainable(bool trainable) {
    if (trainable) materialize();  // f32 master for anything trained
    if (trainable && !grad) grad = aligned_alloc_zeroed<T>(numel());
    if (!trainable) grad.reset();
  }
  void zero_grad() {
    if (grad) std::memset(grad.get(), 0, sizeof(T) * numel());
  }
  ParamRef<T> ref() { return ParamRef<T>{name, data.get(), grad.get(), numel(), shape, group}; }
};

}  // namespace peft
