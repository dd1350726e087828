// The adapter slot on a Linear layer (DESIGN.md "The adapter is a slot on
// Linear"). A base linear computes y[n,out] = x[n,in] · Wᵀ (+ b); an adapter
// adds its delta to y and owns its own parameters, gradients and whatever it
// keeps for backward. One file per method (src/adapters/) implements this
// interface.
//
// It lives in core, below both `model` (whose Linear holds the slot) and
// `adapters` (which fill it), so neither has to include the other
// (docs/architecture.md).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/rng.h"
#include "core/tensor.h"

namespace peft {

// A trainable tensor as the optimizer sees it.
template <typename T>
struct ParamRef {
  std::string name;   // e.g. "blk.3.attn_q.lora_B"
  T* data = nullptr;
  T* grad = nullptr;  // same size as data, accumulated by backward
  int64_t numel = 0;
  Shape shape;
  // Parameter group tag, used by optimizers that treat kinds differently
  // (LoRA+): "lora_A", "lora_B", "vera_lambda", "base", "norm", "embed", "bias".
  std::string group;
};

template <typename T>
using ParamVisitor = std::function<void(ParamRef<T>&)>;

// Describes the base layer an adapter sits on.
struct LinearInfo {
  std::string name;    // GGUF-style name, e.g. "blk.0.attn_q"
  std::string module;  // short module kind: q, k, v, o, gate, up, down
  int64_t in = 0, out = 0;
};

// An adapter's ΔW written as a plain LoRA on the original base weight:
//   ΔW = scale · B A,   A [rank, in], B [out, rank] (rows in the layer's order).
// `alpha` and `rslora` are what a LoRA file records for it: scale = alpha/rank,
// or alpha/sqrt(rank) with rsLoRA. Every method has one (Delta-LoRA and PiSSA
// as a rank-2r LoRA, VeRA as a rank-r LoRA of scale 1), which is how the
// exporters write any method without knowing it.
template <typename T>
struct PlainLora {
  int rank = 0;
  double alpha = 0;
  bool rslora = false;
  double scale = 0;
  std::vector<T> A;  // [rank, in]
  std::vector<T> B;  // [out, rank]
};

template <typename T>
class Adapter {
 public:
  virtual ~Adapter() = default;
  virtual std::string method() const = 0;

  // y[n,out] += delta(x[n,in]). When `training`, dropout is active and
  // whatever backward needs is kept inside the adapter until backward runs.
  virtual void forward(const T* x, T* y, int64_t n, bool training) = 0;
  // Given dy[n,out] for the last forward: accumulates the adapter's parameter
  // gradients and adds its share of the input gradient into dx[n,in].
  // `x` is the same input as in forward when needs_input_for_backward() is
  // true, else null (LoRA-FA keeps x·Aᵀ instead of x).
  virtual void backward(const T* x, const T* dy, T* dx, int64_t n) = 0;
  virtual bool needs_input_for_backward() const = 0;
  // Bytes the adapter keeps between forward and backward for the last forward.
  virtual int64_t saved_bytes() const = 0;

  virtual void visit_params(const ParamVisitor<T>& visit) = 0;
  virtual void zero_grad() = 0;

  // W[out,in] += ΔW (merge) or −= ΔW (unmerge), computed in T.
  virtual void merge_into(T* W) const = 0;
  virtual void unmerge_from(T* W) const = 0;

  // Called after backward and before each optimizer step: a method that
  // transforms its own gradients (LoRA-FA's projection) does it here.
  virtual void before_optimizer_step() {}
  // Called after every optimizer step, with the base weight when the method
  // writes into it (Delta-LoRA), else null.
  virtual void after_step(T* W, int64_t step) {}
  // True when after_step writes into a frozen base weight (Delta-LoRA): the
  // base is then part of what an exact resume must save.
  virtual bool writes_base() const { return false; }

  // ΔW as a plain LoRA on the original base (see PlainLora).
  virtual PlainLora<T> plain_lora() const = 0;

  // The generator behind the adapter's dropout masks, or null when it has
  // none; a checkpoint saves and restores its state, and a recomputing
  // (checkpointed) forward restores it so that it draws the same mask.
  virtual Rng* dropout_rng() { return nullptr; }
  // Advances that generator exactly as a training forward over n rows would,
  // computing nothing: a data-parallel rank skips the rows the other ranks
  // take, so each rank draws the masks a single process would draw.
  virtual void skip_dropout(int64_t n) {}

  // Tensors besides the trainable ones that an exact resume needs (grad is
  // null): Delta-LoRA's anchor A_K, B_K and its step counter. A checkpoint
  // saves them; after writing them back (and the trainable tensors), call
  // state_restored() so the adapter picks them up.
  virtual void visit_state(const ParamVisitor<T>& visit) {}
  virtual void state_restored() {}
};

}  // namespace peft
