// A named model tensor in the compute type T with an optional gradient.
// Frozen parameters have no gradient buffer at all (DESIGN.md: frozen
// tensors get neither gradients nor optimizer state).
#pragma once
#include <cstring>
#include <string>

#include "core/adapter_slot.h"
#include "core/tensor.h"

namespace peft {

template <typename T>
struct Param {
  std::string name;  // GGUF-style, e.g. "blk.0.attn_norm.weight"
  Shape shape;
  AlignedPtr<T> data;
  AlignedPtr<T> grad;  // null when frozen
  std::string group;   // optimizer group tag: "base", "norm", "embed", "bias"

  int64_t numel() const { return shape_numel(shape); }
  bool empty() const { return data == nullptr; }
  bool frozen() const { return grad == nullptr; }
  void allocate(std::string n, Shape s, std::string g) {
    name = std::move(n);
    shape = std::move(s);
    group = std::move(g);
    data = aligned_alloc_zeroed<T>(numel());
  }
  void set_trainable(bool trainable) {
    if (trainable && !grad) grad = aligned_alloc_zeroed<T>(numel());
    if (!trainable) grad.reset();
  }
  void zero_grad() {
    if (grad) std::memset(grad.get(), 0, sizeof(T) * numel());
  }
  ParamRef<T> ref() { return ParamRef<T>{name, data.get(), grad.get(), numel(), shape, group}; }
};

}  // namespace peft
