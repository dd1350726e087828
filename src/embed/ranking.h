// Ranked lists as trec_eval (and so pytrec_eval, BEIR and MTEB) orders them.
//
// trec_eval does not trust the order a run file lists its documents in: it
// sorts each query's results by score, highest first, and breaks ties by
// document id in descending byte order (strcmp(b, a)), so that "d9" ranks
// above "d10" above "d1" when the three score the same. Every metric here
// sees documents in that order, whatever order the caller produced them in,
// so the same scores always give the same numbers.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace peft {

struct ScoredDoc {
  std::string id;
  double score = 0;
};

// True when `a` ranks above `b`: higher score, or equal scores and the
// larger id (byte-wise).
bool ranks_above(const ScoredDoc& a, const ScoredDoc& b);
bool ranks_above(double score_a, const std::string& id_a, double score_b, const std::string& id_b);

// Sorts into trec_eval's order (above).
void sort_ranking(std::vector<ScoredDoc>& docs);

// The k best of n scored documents (ids[i] names scores[i]), in trec_eval's
// order, exactly: the same set and order a full sort would give, ties at the
// k-th place included. Entries with keep[i] == 0 are left out (keep may be
// null). O(n log k).
std::vector<ScoredDoc> top_k(const float* scores, const std::vector<std::string>& ids, int64_t k,
                             const uint8_t* keep = nullptr);
std::vector<ScoredDoc> top_k(const double* scores, const std::vector<std::string>& ids, int64_t k,
                             const uint8_t* keep = nullptr);

}  // namespace peft
