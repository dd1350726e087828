// A linear layer y = x Wᵀ (+ b) with an adapter slot (DESIGN.md).
//
// What it keeps for backward is explicit: the input x [n, in] is needed only
// for the weight gradient (trainable W or bias-free... a trainable W) or by
// an adapter that asks for it (LoRA: dA = duᵀ x). The input gradient needs
// only W and the adapter. The layer itself never copies x: the block that
// owns the buffers keeps it alive exactly when keeps_input() says so.
#pragma once
#include <memory>

#include "core/adapter_slot.h"
#include "model/param.h"

namespace peft {

template <typename T>
class Linear {
 public:
  LinearInfo info;
  Param<T> weight;  // [out, in]
  Param<T> bias;    // [out] or empty
  std::unique_ptr<Adapter<T>> adapter;

  // `zeroed` as in Param::allocate.
  void init(const std::string& name, const std::string& module, int64_t in, int64_t out, bool has_bias,
            bool zeroed = true);
  int64_t in() const { return info.in; }
  int64_t out() const { return info.out; }

  // y[n,out] = x[n,in] Wᵀ + b + adapter(x)
  void forward(const T* x, T* y, int64_t n, bool training);
  // dx[n,in] = dy W (+ adapter share), overwritten or accumulated; weight and
  // bias gradients accumulated when trainable. `x` is the forward input when
  // keeps_input(), else may be null.
  void backward(const T* x, const T* dy, T* dx, int64_t n, bool accumulate_dx);

  bool keeps_input() const {
    return !weight.frozen() || (adapter && adapter->needs_input_for_backward());
  }
  // Bytes kept for backward for a forward of n rows: x when keeps_input(),
  // plus what the adapter keeps.
  int64_t saved_bytes(int64_t n) const;

  void visit_params(const ParamVisitor<T>& visit);
  void zero_grad();
};

}  // namespace peft
