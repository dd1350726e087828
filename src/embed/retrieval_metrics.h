// A retrieval run scored against qrels: the per-query metrics of
// ranking_metrics.h, averaged over queries, as BEIR reports them.
//
// Which queries count:
//   - every query the qrels name that has at least one document with grade
//     >= 1. A query whose judgments are all 0 (or negative) is skipped and
//     counted in `skipped`: no ranking can score on it, so averaging it in
//     as 0 would only measure the qrels (sentence-transformers'
//     InformationRetrievalEvaluator drops such queries the same way;
//     pytrec_eval would report 0 for it and BEIR's average would include
//     that 0, so where such queries exist BEIR's numbers are ours times
//     queries / (queries + skipped)).
//   - a counted query the run has no results for scores 0 on every metric
//     (trec_eval -c), rather than being dropped: a system that returns
//     nothing for a query should not look better for it.
// Documents in the run that the qrels do not judge are non-relevant.
// With `ignore_identical_ids` (BEIR's default), a document whose id equals
// the query id is removed from that query's results first (BEIR does this
// for collections such as ArguAna and Quora where a query is also a
// document).
//
// A run that lists a document twice for one query is an error (trec_eval
// refuses it too). Means are plain averages over the counted queries, in double precision.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "data/beir.h"
#include "embed/ranking.h"

namespace peft {

// Query id -> its retrieved documents with scores (any order: they are
// sorted into trec_eval's order before scoring).
using RetrievalRun = std::map<std::string, std::vector<ScoredDoc>>;

struct QueryMetrics {
  std::string query_id;
  double ndcg10 = 0, mrr10 = 0, recall1 = 0, recall10 = 0, recall100 = 0, map100 = 0;
};

struct RetrievalMetrics {
  double ndcg10 = 0, mrr10 = 0, recall1 = 0, recall10 = 0, recall100 = 0, map100 = 0;
  int64_t queries = 0;  // queries averaged over
  int64_t skipped = 0;  // queries in the qrels with no relevant document
  std::vector<QueryMetrics> per_query;  // in the qrels' query order
};

// The deepest cutoff any reported metric needs (Recall@100, MAP@100).
inline constexpr int64_t kRetrievalDepth = 100;

// The queries that count (above), in the qrels' order.
std::vector<std::string> evaluated_queries(const Qrels& qrels);

RetrievalMetrics evaluate_run(const Qrels& qrels, RetrievalRun run, bool ignore_identical_ids = true);

}  // namespace peft
