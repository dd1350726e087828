#include "embed/loss_triplet.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"

namespace peft {

namespace {

// ‖x − y + ε‖ and, when g is not null, g = (x − y + ε) / ‖…‖ [D].
template <typename T>
double pairwise_distance(const T* x, const T* y, int64_t D, std::vector<double>* g) {
  double ss = 0;
  if (g) g->resize(static_cast<size_t>(D));
  for (int64_t k = 0; k < D; ++k) {
    const double v = static_cast<double>(x[k]) - static_cast<double>(y[k]) + kPairwiseDistanceEps;
    ss += v * v;
    if (g) (*g)[k] = v;
  }
  const double d = std::sqrt(ss);
  if (g)
    for (double& v : *g) v = d > 0 ? v / d : 0;
  return d;
}

}  // namespace

template <typename T>
double triplet_loss(const LossInput<T>& in, double margin, T* demb) {
  const int64_t n = in.n, D = in.dims;
  if (in.columns != 3) fail("embed", "triplet needs (anchor, positive, negative) triplets");
  if (n == 0) return 0;
  if (demb) std::fill(demb, demb + 3 * n * D, T(0));
  const T* a = in.emb;
  const T* p = in.emb + n * D;
  const T* q = in.emb + 2 * n * D;
  double loss = 0;
  std::vector<double> gp, gq;
  for (int64_t i = 0; i < n; ++i) {
    const double dp = pairwise_distance(a + i * D, p + i * D, D, demb ? &gp : nullptr);
    const double dq = pairwise_distance(a + i * D, q + i * D, D, demb ? &gq : nullptr);
    const double l = dp - dq + margin;
    if (l <= 0) continue;  // relu: no gradient where inactive
    loss += l;
    if (!demb) continue;
    const double w = 1.0 / static_cast<double>(n);
    for (int64_t k = 0; k < D; ++k) {
      demb[i * D + k] += static_cast<T>(w * (gp[k] - gq[k]));
      demb[(n + i) * D + k] -= static_cast<T>(w * gp[k]);
      demb[(2 * n + i) * D + k] += static_cast<T>(w * gq[k]);
    }
  }
  return loss / static_cast<double>(n);
}

template double triplet_loss<float>(const LossInput<float>&, double, float*);
template double triplet_loss<double>(const LossInput<double>&, double, double*);

}  // namespace peft
