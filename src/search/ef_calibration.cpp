#include "search/ef_calibration.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <unordered_set>
#include <vector>

#include "search/hnsw_graph.h"

namespace peft {

namespace {

constexpr int64_t kK = 10;               // recall@10, as the issue and bench measure
constexpr int64_t kProbesPerKind = 100;  // 2 x 100 queries x 10 neighbours = 2000 samples
constexpr double kMargin = 0.02;         // ~4 standard errors of a 2000-sample recall near 0.95
// A graph search computes its distances on vectors scattered in memory and
// keeps a visited list and two heaps; the scan streams contiguous rows. One
// graph distance costs about two scanned ones (bench/search_bench), so a
// breadth that computes distances for half the vectors is no cheaper.
constexpr double kScanShare = 0.5;
constexpr int64_t kMaxEf = 4096;
constexpr uint32_t kSeed = 0x5eed1u;

struct Probe {
  std::vector<float> q;
  int64_t self = -1;                 // label left out (stored-vector probes), or -1
  std::unordered_set<uint64_t> truth;
};

// The exact top k of `p`, its own label left out.
void fill_truth(const HnswGraph& g, Probe& p) {
  const int64_t want = kK + (p.self >= 0 ? 1 : 0);
  for (const auto& s : g.exact(p.q.data(), want))
    if (int64_t(s.label) != p.self && int64_t(p.truth.size()) < kK) p.truth.insert(s.label);
}

}  // namespace

EfCalibration calibrate_ef(const HnswGraph& g, double target) {
  EfCalibration out;
  const int64_t n = g.live(), d = g.dims();
  out.live = n;
  // Up to a few hundred vectors every search is a scan in all but name.
  if (n <= 4 * kK) return out;

  // Per-dimension mean and spread of the stored vectors (a strided sample
  // of at most 20,000), and every (n / kProbesPerKind)-th vector as a probe.
  const int64_t stride = std::max<int64_t>(1, n / 20000), probe_stride = std::max<int64_t>(1, n / kProbesPerKind);
  std::vector<double> sum(size_t(d), 0.0), sum2(size_t(d), 0.0);
  int64_t seen = 0, idx = 0;
  std::vector<Probe> probes;
  g.for_each_live([&](uint64_t label, const float* v) {
    if (idx % stride == 0) {
      for (int64_t j = 0; j < d; ++j) {
        sum[size_t(j)] += v[j];
        sum2[size_t(j)] += double(v[j]) * v[j];
      }
      ++seen;
    }
    if (idx % probe_stride == 0 && int64_t(probes.size()) < kProbesPerKind)
      probes.push_back({std::vector<float>(v, v + d), int64_t(label), {}});
    ++idx;
  });
  std::mt19937_64 rng(kSeed);
  std::normal_distribution<double> gauss;
  for (int64_t p = 0; p < kProbesPerKind; ++p) {
    Probe pr;
    pr.q.resize(size_t(d));
    for (int64_t j = 0; j < d; ++j) {
      const double mean = sum[size_t(j)] / double(seen);
      const double var = std::max(0.0, sum2[size_t(j)] / double(seen) - mean * mean);
      pr.q[size_t(j)] = float(mean + std::sqrt(var) * gauss(rng));
    }
    if (normalize_vector(pr.q.data(), d)) probes.push_back(std::move(pr));
  }
  for (auto& p : probes) fill_truth(g, p);
  out.probes = int64_t(probes.size());

  const double need = std::min(1.0, target + kMargin);
  for (int64_t ef = 16; ef <= kMaxEf && ef < n; ef *= 2) {
    int64_t hit = 0, total = 0;
    const int64_t before = g.distance_computations();
    for (const auto& p : probes) {
      const int64_t want = kK + (p.self >= 0 ? 1 : 0);
      int64_t got = 0;
      for (const auto& s : g.search(p.q.data(), want, ef + (p.self >= 0 ? 1 : 0))) {
        if (int64_t(s.label) == p.self || got == kK) continue;
        ++got;
        hit += int64_t(p.truth.count(s.label));
      }
      total += int64_t(p.truth.size());
    }
    const double share = double(g.distance_computations() - before) / double(probes.size()) / double(n);
    if (share >= kScanShare) break;  // no cheaper than the scan from here on
    const double recall = total ? double(hit) / double(total) : 1.0;
    if (recall >= need) {
      out.ef = ef;
      out.recall = recall;
      out.visited_share = share;
      return out;
    }
  }
  return out;  // the exhaustive scan
}

}  // namespace peft
