#include "embed/loss_mnrl.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "embed/cosine_rows.h"

namespace peft {

template <typename T>
double mnrl_loss(const LossInput<T>& in, double scale, T* demb) {
  const int64_t n = in.n, D = in.dims, C = (in.columns - 1) * n;
  if (in.columns < 2) fail("embed", "mnrl needs (anchor, positive) pairs");
  if (n == 0) return 0;
  const UnitRows<T> u = unit_rows(in.emb, in.columns * n, D);
  // S [n, C] and, in place, the softmax of each row over the allowed candidates.
  std::vector<double> p(static_cast<size_t>(n * C));
  double loss = 0;
#pragma omp parallel for reduction(+ : loss) if (n * C * D > 65536)
  for (int64_t i = 0; i < n; ++i) {
    double* pi = p.data() + i * C;
    double mx = -std::numeric_limits<double>::infinity();
    for (int64_t j = 0; j < C; ++j) {
      const bool excluded = j != i && in.exclude && in.exclude[i * C + j];
      pi[j] = excluded ? -std::numeric_limits<double>::infinity() : scale * dot(u.row(i), u.row(n + j), D);
      mx = std::max(mx, pi[j]);
    }
    double z = 0;
    for (int64_t j = 0; j < C; ++j) z += std::exp(pi[j] - mx);  // exp(−∞) = 0
    loss += mx + std::log(z) - pi[i];
    for (int64_t j = 0; j < C; ++j) pi[j] = std::exp(pi[j] - mx) / z;
  }
  loss /= static_cast<double>(n);
  if (!demb) return loss;
  // G_ij = s (P_ij − [j = i]) / n;  dû_a,i = Σ_j G_ij ĉ_j;  dĉ_j = Σ_i G_ij â_i.
  const double g = scale / static_cast<double>(n);
  std::vector<T> du(static_cast<size_t>(in.columns * n * D), T(0));
#pragma omp parallel for if (n * C * D > 65536)
  for (int64_t i = 0; i < n; ++i) {
    T* d = du.data() + i * D;
    for (int64_t j = 0; j < C; ++j) {
      const double gij = g * (p[i * C + j] - (j == i ? 1.0 : 0.0));
      if (gij == 0) continue;
      const T* c = u.row(n + j);
      for (int64_t k = 0; k < D; ++k) d[k] += static_cast<T>(gij * c[k]);
    }
  }
#pragma omp parallel for if (n * C * D > 65536)
  for (int64_t j = 0; j < C; ++j) {
    T* d = du.data() + (n + j) * D;
    for (int64_t i = 0; i < n; ++i) {
      const double gij = g * (p[i * C + j] - (j == i ? 1.0 : 0.0));
      if (gij == 0) continue;
      const T* a = u.row(i);
      for (int64_t k = 0; k < D; ++k) d[k] += static_cast<T>(gij * a[k]);
    }
  }
  unit_rows_backward(u, du.data(), demb);
  return loss;
}

template double mnrl_loss<float>(const LossInput<float>&, double, float*);
template double mnrl_loss<double>(const LossInput<double>&, double, double*);

}  // namespace peft
