#include "embed/loss_cosent.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "embed/cosine_rows.h"

namespace peft {

template <typename T>
double cosent_loss(const LossInput<T>& in, double scale, T* demb) {
  const int64_t n = in.n, D = in.dims;
  if (in.columns != 2 || !in.labels) fail("embed", "cosent needs scored pairs (sentence1, sentence2, score)");
  if (n == 0) return 0;
  const UnitRows<T> u = unit_rows(in.emb, 2 * n, D);
  std::vector<double> s(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) s[i] = scale * dot(u.row(i), u.row(n + i), D);
  // log(e⁰ + Σ e^{s_i − s_j}) stably: shift by the largest exponent (≥ 0, the 1).
  double mx = 0;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j)
      if (in.labels[i] < in.labels[j]) mx = std::max(mx, s[i] - s[j]);
  double z = std::exp(-mx);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j)
      if (in.labels[i] < in.labels[j]) z += std::exp(s[i] - s[j] - mx);
  const double loss = mx + std::log(z);
  if (!demb) return loss;
  // dL/ds_i = Σ_j w_ij − Σ_j w_ji; ds_i/dcos_i = scale.
  std::vector<double> dcos(static_cast<size_t>(n), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j)
      if (in.labels[i] < in.labels[j]) {
        const double w = std::exp(s[i] - s[j] - mx) / z;
        dcos[i] += scale * w;
        dcos[j] -= scale * w;
      }
  std::vector<T> du(static_cast<size_t>(2 * n * D));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < D; ++k) {
      du[i * D + k] = static_cast<T>(dcos[i] * u.row(n + i)[k]);
      du[(n + i) * D + k] = static_cast<T>(dcos[i] * u.row(i)[k]);
    }
  unit_rows_backward(u, du.data(), demb);
  return loss;
}

template double cosent_loss<float>(const LossInput<float>&, double, float*);
template double cosent_loss<double>(const LossInput<double>&, double, double*);

}  // namespace peft
