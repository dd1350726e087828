#include "embed/ranking.h"

#include <algorithm>
#include <queue>

namespace peft {

bool ranks_above(double score_a, const std::string& id_a, double score_b, const std::string& id_b) {
  if (score_a != score_b) return score_a > score_b;
  return id_a > id_b;  // std::string compares bytes as unsigned char, as strcmp does
}

bool ranks_above(const ScoredDoc& a, const ScoredDoc& b) { return ranks_above(a.score, a.id, b.score, b.id); }

void sort_ranking(std::vector<ScoredDoc>& docs) {
  std::sort(docs.begin(), docs.end(), [](const ScoredDoc& a, const ScoredDoc& b) { return ranks_above(a, b); });
}

namespace {

template <typename T>
std::vector<ScoredDoc> top_k_impl(const T* scores, const std::vector<std::string>& ids, int64_t k,
                                  const uint8_t* keep) {
  const int64_t n = static_cast<int64_t>(ids.size());
  if (k <= 0) return {};
  // A heap of the k best seen so far whose top is the worst of them: a new
  // entry replaces it when it ranks above it.
  auto worse_on_top = [&](int64_t a, int64_t b) {
    return ranks_above(static_cast<double>(scores[a]), ids[a], static_cast<double>(scores[b]), ids[b]);
  };
  std::priority_queue<int64_t, std::vector<int64_t>, decltype(worse_on_top)> heap(worse_on_top);
  for (int64_t i = 0; i < n; ++i) {
    if (keep && !keep[i]) continue;
    if (static_cast<int64_t>(heap.size()) < k) {
      heap.push(i);
    } else if (worse_on_top(i, heap.top())) {
      heap.pop();
      heap.push(i);
    }
  }
  std::vector<ScoredDoc> out(heap.size());
  for (int64_t j = static_cast<int64_t>(out.size()) - 1; j >= 0; --j) {
    out[j] = {ids[heap.top()], static_cast<double>(scores[heap.top()])};
    heap.pop();
  }
  return out;
}

}  // namespace

std::vector<ScoredDoc> top_k(const float* scores, const std::vector<std::string>& ids, int64_t k,
                             const uint8_t* keep) {
  return top_k_impl(scores, ids, k, keep);
}
std::vector<ScoredDoc> top_k(const double* scores, const std::vector<std::string>& ids, int64_t k,
                             const uint8_t* keep) {
  return top_k_impl(scores, ids, k, keep);
}

}  // namespace peft
