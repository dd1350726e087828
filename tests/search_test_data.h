// Vectors for the search tests: unit vectors clustered the way sentence
// embeddings are (documents on a topic near its centre), so that nearest
// neighbours are meaningfully nearer than the rest; and iid uniform unit
// vectors, the worst case for any graph index.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace peft::test {

// [n, dims] unit vectors: `clusters` random unit centres, each point its
// centre plus Gaussian noise of per-coordinate sd `spread`/sqrt(dims),
// normalised.
inline std::vector<float> clustered_unit_vectors(int64_t n, int64_t dims, int64_t clusters, double spread,
                                                 uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> g;
  auto unit = [&](double* v) {
    double s = 0;
    for (int64_t j = 0; j < dims; ++j) s += v[j] * v[j];
    const double r = 1 / std::sqrt(s);
    for (int64_t j = 0; j < dims; ++j) v[j] *= r;
  };
  std::vector<double> centres(size_t(clusters * dims));
  for (auto& c : centres) c = g(rng);
  for (int64_t c = 0; c < clusters; ++c) unit(&centres[size_t(c * dims)]);
  std::vector<float> out(size_t(n * dims));
  std::vector<double> v(static_cast<size_t>(dims));
  const double sd = spread / std::sqrt(double(dims));
  for (int64_t i = 0; i < n; ++i) {
    const int64_t c = int64_t(rng() % uint32_t(clusters));
    for (int64_t j = 0; j < dims; ++j) v[size_t(j)] = centres[size_t(c * dims + j)] + sd * g(rng);
    unit(v.data());
    for (int64_t j = 0; j < dims; ++j) out[size_t(i * dims + j)] = float(v[size_t(j)]);
  }
  return out;
}

inline std::vector<float> uniform_unit_vectors(int64_t n, int64_t dims, uint32_t seed) {
  return clustered_unit_vectors(n, dims, 1, 1e6, seed);  // the centre vanishes in the noise
}

// Exact top-k by inner product (double accumulation), ties by smaller row:
// an implementation independent of the index's scan.
inline std::vector<int64_t> brute_top_k(const std::vector<float>& rows, int64_t dims, const float* q, int64_t k) {
  const int64_t n = int64_t(rows.size()) / dims;
  std::vector<std::pair<double, int64_t>> s(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    double d = 0;
    for (int64_t j = 0; j < dims; ++j) d += double(rows[size_t(i * dims + j)]) * q[j];
    s[size_t(i)] = {-d, i};
  }
  k = std::min(k, n);
  std::partial_sort(s.begin(), s.begin() + k, s.end());
  std::vector<int64_t> out;
  for (int64_t i = 0; i < k; ++i) out.push_back(s[size_t(i)].second);
  return out;
}

}  // namespace peft::test
