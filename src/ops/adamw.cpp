#include "ops/adamw.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace peft::ops {

// PyTorch's order (REFERENCE.md §6): decoupled decay p ← p·(1 − lr·wd) first,
// then the bias-corrected Adam step
//   p ← p − lr · m̂ / (sqrt(v̂) + eps),  m̂ = m/(1−β1ᵗ),  v̂ = v/(1−β2ᵗ).
// The scalar factors are formed in double once per call.
void adamw_update(float* p, const float* g, float* m, float* v, int64_t n, const AdamWStep& s) {
  const double t = static_cast<double>(s.step);
  // 1 − β is formed in double: 1.0f − 0.999f is off by 5e-5 relative.
  const float b1 = static_cast<float>(s.beta1), b2 = static_cast<float>(s.beta2);
  const float omb1 = static_cast<float>(1.0 - s.beta1), omb2 = static_cast<float>(1.0 - s.beta2);
  const float c1 = static_cast<float>(1.0 / (1.0 - std::pow(s.beta1, t)));
  const float c2 = static_cast<float>(1.0 / (1.0 - std::pow(s.beta2, t)));
  const float lr = static_cast<float>(s.lr), eps = static_cast<float>(s.eps);
  const float decay = static_cast<float>(1.0 - s.lr * s.weight_decay);
#pragma omp parallel for simd schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) {
    const float gi = g[i];
    const float mi = b1 * m[i] + omb1 * gi;
    const float vi = b2 * v[i] + omb2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] = p[i] * decay - lr * (mi * c1) / (std::sqrt(vi * c2) + eps);
  }
}

void adamw_update_ref(double* p, const double* g, double* m, double* v, int64_t n, const AdamWStep& s) {
  const double t = static_cast<double>(s.step);
  for (int64_t i = 0; i < n; ++i) {
    p[i] *= 1.0 - s.lr * s.weight_decay;
    m[i] = s.beta1 * m[i] + (1.0 - s.beta1) * g[i];
    v[i] = s.beta2 * v[i] + (1.0 - s.beta2) * g[i] * g[i];
    const double mh = m[i] / (1.0 - std::pow(s.beta1, t));
    const double vh = v[i] / (1.0 - std::pow(s.beta2, t));
    p[i] -= s.lr * mh / (std::sqrt(vh) + s.eps);
  }
}

// Fixed-size blocks summed in order, so the result does not depend on the
// number of threads.
double sum_squares(const float* g, int64_t n) {
  constexpr int64_t kBlock = 16384;
  const int64_t nblk = (n + kBlock - 1) / kBlock;
  double total = 0;
  if (nblk <= 1) {
    for (int64_t i = 0; i < n; ++i) total += static_cast<double>(g[i]) * g[i];
    return total;
  }
  std::vector<double> part(static_cast<size_t>(nblk));
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < nblk; ++b) {
    const int64_t i1 = std::min(n, (b + 1) * kBlock);
    double acc = 0;
    for (int64_t i = b * kBlock; i < i1; ++i) acc += static_cast<double>(g[i]) * g[i];
    part[b] = acc;
  }
  for (double x : part) total += x;
  return total;
}

}  // namespace peft::ops
