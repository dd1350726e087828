#include "model/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "core/error.h"

namespace peft {

Sampler::Sampler(const SamplerConfig& c) : cfg_(c), rng_(c.seed) {
  if (!(c.temperature >= 0)) fail("generate", "temperature must be ≥ 0");
  if (c.top_k < 0) fail("generate", "top-k must be ≥ 0");
  if (!(c.top_p > 0 && c.top_p <= 1)) fail("generate", "top-p must be in (0, 1]");
}

int32_t Sampler::sample(const float* logits, int64_t vocab) {
  if (cfg_.temperature == 0) {
    // Greedy; ties go to the lowest id.
    int64_t best = 0;
    for (int64_t i = 1; i < vocab; ++i)
      if (logits[i] > logits[best]) best = i;
    return static_cast<int32_t>(best);
  }
  std::vector<int32_t> ids(vocab);
  std::iota(ids.begin(), ids.end(), 0);
  int64_t k = cfg_.top_k > 0 ? std::min<int64_t>(cfg_.top_k, vocab) : vocab;
  std::partial_sort(ids.begin(), ids.begin() + k, ids.end(), [&](int32_t a, int32_t b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  });
  ids.resize(k);
  std::vector<double> p(k);
  double mx = logits[ids[0]], sum = 0;
  for (int64_t i = 0; i < k; ++i) {
    p[i] = std::exp((logits[ids[i]] - mx) / cfg_.temperature);
    sum += p[i];
  }
  // Nucleus: keep the shortest prefix (by probability) reaching top_p.
  double acc = 0;
  int64_t keep = k;
  for (int64_t i = 0; i < k; ++i) {
    acc += p[i] / sum;
    if (acc >= cfg_.top_p) {
      keep = i + 1;
      break;
    }
  }
  double total = 0;
  for (int64_t i = 0; i < keep; ++i) total += p[i];
  double r = rng_.uniform_double() * total;
  for (int64_t i = 0; i < keep; ++i) {
    r -= p[i];
    if (r < 0) return ids[i];
  }
  return ids[keep - 1];
}

}  // namespace peft
