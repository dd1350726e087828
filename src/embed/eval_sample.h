// A small, fixed sample of an evaluation set whose embeddings an embedding
// run records before and after training (RUN/embedding_eval.json), so that
// `peft report` can draw how training moved them:
//
//   {"before": {"positive_cos": [...], "negative_cos": [...],
//               "queries": [[...], ...], "documents": [[...], ...]},
//    "after":  {same}}
//
// Retrieval set: up to `max_pairs` of the evaluated queries (retrieval_metrics.h),
// drawn without replacement by `seed`; for each, its positive is its most
// relevant document (the first in id order among the highest grade) and its
// negative a document drawn by `seed` among those not judged relevant to
// it. STS set: the pairs with the highest gold scores are the positives and
// those with the lowest the negatives (up to max_pairs of each), sentence1
// as the "query" and sentence2 as the "document".
//
// positive_cos[i] = cos(query_i, positive_i), negative_cos[i] =
// cos(query_i, negative_i); queries[i] and documents[i] are the full
// embeddings (the model's dimension, as the model outputs them) of query_i
// and positive_i. The sample is drawn once, so before and after hold the
// same texts in the same order.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/beir.h"
#include "data/scored_pairs.h"

namespace peft {

class Embedder;

struct EvalSample {
  std::vector<std::string> queries, positives;  // aligned
  // Aligned; negative_queries empty when the negatives belong to `queries`
  // (retrieval: one negative per query, so they are embedded once).
  std::vector<std::string> negative_queries, negatives;
};

EvalSample retrieval_sample(const BeirSet& set, int64_t max_pairs, uint64_t seed);
EvalSample sts_sample(const std::vector<ScoredPair>& pairs, int64_t max_pairs);

// One phase ("before" or "after") of embedding_eval.json: the sample
// embedded by `e` as it is now (no gradients), queries with `query_prompt`
// and documents with `doc_prompt`.
nlohmann::json embed_eval_sample(Embedder& e, const EvalSample& s, const std::string& query_prompt,
                                 const std::string& doc_prompt, int64_t batch_size);

}  // namespace peft
