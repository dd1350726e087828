#include "embed/loss_matryoshka.h"

#include <algorithm>
#include <set>

#include "core/error.h"
#include "ops/l2_normalize.h"

namespace peft {

std::vector<int64_t> parse_matryoshka_dims(const std::string& list) {
  std::vector<int64_t> dims;
  std::set<int64_t> seen;
  size_t at = 0;
  while (at <= list.size()) {
    const size_t comma = std::min(list.find(',', at), list.size());
    const std::string item = list.substr(at, comma - at);
    size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(item, &used);
    } catch (...) {
      used = 0;
    }
    if (item.empty() || used != item.size() || v <= 0)
      fail("embed", "--matryoshka takes positive dimensions separated by commas, got '" + list + "'");
    if (!seen.insert(v).second) fail("embed", "--matryoshka lists " + item + " twice");
    dims.push_back(v);
    at = comma + 1;
  }
  return dims;
}

template <typename T>
double matryoshka_loss(LossKind inner, const LossInput<T>& in, const std::vector<int64_t>& dims,
                       const std::vector<double>& weights, T* demb) {
  if (!weights.empty() && weights.size() != dims.size())
    fail("embed", "Matryoshka needs one weight per dimension");
  const int64_t rows = in.columns * in.n, D = in.dims;
  if (demb) std::fill(demb, demb + rows * D, T(0));
  double loss = 0;
  std::vector<T> y, norm, dy, dx(demb ? static_cast<size_t>(rows * D) : 0);
  for (size_t k = 0; k < dims.size(); ++k) {
    const int64_t d = dims[k];
    if (d <= 0 || d > D)
      fail("embed", "Matryoshka dimension " + std::to_string(d) + " is outside 1…" + std::to_string(D));
    const double w = weights.empty() ? 1.0 : weights[k];
    y.resize(static_cast<size_t>(rows * d));
    norm.resize(static_cast<size_t>(rows));
    ops::l2_normalize_forward(in.emb, y.data(), norm.data(), rows, D, d);
    LossInput<T> sub = in;
    sub.emb = y.data();
    sub.dims = d;
    dy.resize(demb ? static_cast<size_t>(rows * d) : 0);
    loss += w * embedding_loss(inner, sub, demb ? dy.data() : nullptr);
    if (!demb) continue;
    ops::l2_normalize_backward(dy.data(), y.data(), norm.data(), dx.data(), rows, D, d);
    for (int64_t i = 0; i < rows * D; ++i) demb[i] += static_cast<T>(w * dx[i]);
  }
  return loss;
}

template double matryoshka_loss<float>(LossKind, const LossInput<float>&, const std::vector<int64_t>&,
                                       const std::vector<double>&, float*);
template double matryoshka_loss<double>(LossKind, const LossInput<double>&, const std::vector<int64_t>&,
                                        const std::vector<double>&, double*);

}  // namespace peft
