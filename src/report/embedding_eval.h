// What an embedding run records for its pictures, besides the curves:
// embedding_eval.json, written by `peft train --task embedding` at the end
// of a run with an evaluation set,
//   {"before": {"positive_cos": [...], "negative_cos": [...],
//               "queries": [[...], ...], "documents": [[...], ...]},
//    "after":  {same}}
// (cosine similarities of the evaluation's positive and negative pairs, and
// up to 200 query and document embeddings at full dimension, before and
// after training), and the evaluation metrics before/after (retrieval:
// ndcg@10, mrr@10, recall@1/10/100, map@100; STS: spearman, pearson).
#pragma once
#include <cmath>
#include <string>
#include <vector>

namespace peft::report {

struct EmbeddingPhase {
  std::vector<double> positive_cos, negative_cos;
  std::vector<std::vector<float>> queries, documents;  // each [d]
  bool empty() const { return positive_cos.empty() && negative_cos.empty() && queries.empty() && documents.empty(); }
};

struct EmbeddingEval {
  bool present = false;
  EmbeddingPhase before, after;
};

// One evaluation metric of an embedding run, before and after training
// (NaN where not recorded).
struct EvalMetric {
  std::string key;  // as recorded: "ndcg@10", "sts_spearman", ...
  double before = std::nan(""), after = std::nan("");
};

// The metric keys the report knows, in the order it shows them.
const std::vector<std::string>& known_eval_metrics();
// A reader's name for a key: "nDCG@10", "Recall@10", "STS Spearman", ...
std::string metric_name(const std::string& key);

// Reads embedding_eval.json. What cannot be used (not JSON, a field of the
// wrong type, vectors of different lengths) is left out and said in `notes`.
EmbeddingEval read_embedding_eval(const std::string& path, std::vector<std::string>& notes);

}  // namespace peft::report
