// Per-query ranking metrics, defined as trec_eval computes them (pytrec_eval
// is trec_eval's C code; BEIR and MTEB call pytrec_eval). Each takes the
// relevance grades of the retrieved documents in rank order (`ranked`,
// rank 1 first, 0 for a document the qrels do not judge) and what the qrels
// hold for the query. A document is relevant when its grade is >= 1
// (trec_eval's default relevance level); grades <= 0 are not relevant.
//
// With rel_i the grade at rank i (1-based), R the number of judged documents
// with grade >= 1, and k the cutoff:
//
//   nDCG@k   = DCG@k / IDCG@k,  DCG@k = Σ_{i≤k, rel_i>0} rel_i / log2(i+1)
//              IDCG@k = the same sum over the judged grades > 0 sorted
//              descending (the best ranking the qrels allow, from all judged
//              documents, retrieved or not); 0 when IDCG is 0.
//   RR@k     = 1 / (rank of the first relevant document) if it is within the
//              first k, else 0 (trec_eval's recip_rank has no cutoff; @k
//              cuts the list first, as MTEB's and BEIR's MRR@k do).
//   Recall@k = |relevant within the first k| / R; 0 when R = 0.
//   AP@k     = (1/R) Σ_{i≤k, rel_i≥1} P@i,  P@i = |relevant within the first i| / i
//              trec_eval's map_cut: the sum is cut at k but the divisor stays
//              R, not min(k, R), so a query with more relevant documents than k
//              can not reach 1; 0 when R = 0.
//
// Fewer than k retrieved documents count as non-relevant ones filling the
// rest, as in trec_eval.
#pragma once
#include <cstdint>
#include <vector>

namespace peft {

double ndcg_at_k(const std::vector<int>& ranked, const std::vector<int>& judged_grades, int64_t k);
double reciprocal_rank_at_k(const std::vector<int>& ranked, int64_t k);
double recall_at_k(const std::vector<int>& ranked, int64_t num_relevant, int64_t k);
double average_precision_at_k(const std::vector<int>& ranked, int64_t num_relevant, int64_t k);

}  // namespace peft
