#include "model/linear.h"

#include "ops/bias.h"
#include "ops/matmul.h"
#include "ops/weight_ops.h"

namespace peft {

template <typename T>
void Linear<T>::init(const std::string& name, const std::string& module, int64_t in, int64_t out, bool has_bias,
                     bool zeroed) {
  info.name = name;
  info.module = module;
  info.in = in;
  info.out = out;
  weight.allocate(name + ".weight", {out, in}, "base", zeroed);
  if (has_bias) bias.allocate(name + ".bias", {out}, "bias", zeroed);
}

template <typename T>
void Linear<T>::forward(const T* x, T* y, int64_t n, bool training) {
  // y[n,out] = x Wᵀ, whatever W's storage type (dense, bf16, quantized).
  ops::weight_rows_t<T>(x, n, info.in, weight.weight(), 0, info.out, y, info.out, T(0));
  if (!bias.empty()) ops::bias_add_forward<T>(y, bias.data.get(), n, info.out);
  if (adapter) adapter->forward(x, y, n, training);
}

template <typename T>
void Linear<T>::backward(const T* x, const T* dy, T* dx, int64_t n, bool accumulate_dx) {
  if (dx) ops::rows_weight<T>(dy, info.out, n, weight.weight(), 0, info.out, info.in, dx, accumulate_dx ? T(1) : T(0));
  if (!weight.frozen()) ops::linear_backward_weight<T>(dy, x, weight.grad.get(), n, info.in, info.out);
  if (!bias.empty() && !bias.frozen()) ops::bias_add_backward<T>(dy, bias.grad.get(), n, info.out);
  if (adapter) {
    // The adapter adds its share into dx, so dx must hold the base part first.
    adapter->backward(adapter->needs_input_for_backward() ? x : nullptr, dy, dx, n);
  }
}

template <typename T>
int64_t Linear<T>::saved_bytes(int64_t n) const {
  int64_t b = keeps_input() ? n * info.in * static_cast<int64_t>(sizeof(T)) : 0;
  if (adapter) b += adapter->saved_bytes();
  return b;
}

template <typename T>
void Linear<T>::visit_params(const ParamVisitor<T>& visit) {
  if (!weight.frozen()) {
    auto r = weight.ref();
    visit(r);
  }
  if (!bias.empty() && !bias.frozen()) {
    auto r = bias.ref();
    visit(r);
  }
  if (adapter) adapter->visit_params(visit);
}

template <typename T>
void Linear<T>::zero_grad() {
  weight.zero_grad();
  bias.zero_grad();
  if (adapter) adapter->zero_grad();
}

template class Linear<float>;
template class Linear<double>;

}  // namespace peft
