// Reciprocal-rank fusion (Cormack, Clarke and Büttcher, SIGIR 2009): the
// fused score of a document is the sum over the rankings it appears in of
//   1 / (c + rank),   rank = 1 for the best, c = 60,
// so a document high in either list rises, and one in both rises most. It
// needs no score calibration between cosine and BM25, which live on
// unrelated scales.
#pragma once
#include <cstdint>
#include <vector>

namespace peft {

struct FusedItem {
  int64_t key;
  double score;
  int64_t rank_a = 0, rank_b = 0;  // 1-based rank in each input, 0 = absent
};

inline constexpr double kRrfC = 60.0;

// Fuses two rankings of keys (best first, no repeats within one), returning
// the best `k`, ties broken by the better single rank, then the smaller key.
std::vector<FusedItem> rrf_fuse(const std::vector<int64_t>& a, const std::vector<int64_t>& b, int64_t k,
                                double c = kRrfC);

}  // namespace peft
