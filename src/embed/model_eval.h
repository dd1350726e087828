// Evaluating an embedding model (embedder.h) the way sentence-transformers
// and BEIR do:
//
//   retrieval: embed every corpus document ("title text") and every query
//     that counts (retrieval_metrics.h), L2-normalise both, score all
//     documents by dot product (= cosine) with exact search, keep the top
//     100 per query in trec_eval's order, and score the run against the
//     qrels.
//   STS: embed both sentences of each pair, cosine similarity, Spearman and
//     Pearson against the gold scores (EmbeddingSimilarityEvaluator).
//
// Prompts: a name from the model's config_sentence_transformers.json or
// literal text. Left empty: the prompt the loaded adapter was trained with
// for that side (embed/adapter_settings.h) when it recorded one; else
// queries get the model's "query" prompt and documents its "document",
// "passage" or "corpus" prompt (the first that exists), as sentence-
// transformers' encode_query / encode_document choose; without those, the
// model's default prompt (usually none). STS: the adapter's query prompt
// (the trainer's for both sentences of a pair), else the default prompt.
//
// Used by `peft eval` and by the embedding trainer's --eval-retrieval /
// --eval-sts (before and after training, and every --eval-every steps): both
// take the Embedder as it is in memory (adapters unmerged, no reload), embed
// without gradients or dropout, and leave the model's training state alone.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "data/beir.h"
#include "data/scored_pairs.h"
#include "embed/retrieval_metrics.h"

namespace peft {

class Embedder;

struct ModelEvalOptions {
  std::string query_prompt, doc_prompt;  // retrieval (see above)
  std::string prompt;                    // STS: both sentences
  int64_t batch_size = 32;
  int64_t max_length = 0;  // 0: the embedder's own
  int64_t dims = 0;        // Matryoshka: evaluate the first dims columns; 0 = all
  bool ignore_identical_ids = true;
  // Called as texts are embedded: ("documents" | "queries" | "sentences", done, total).
  std::function<void(const char* what, int64_t done, int64_t total)> progress;
};

struct StsMetrics {
  double spearman = 0, pearson = 0;
  int64_t pairs = 0;
};

RetrievalMetrics evaluate_retrieval(Embedder& e, const BeirSet& set, const ModelEvalOptions& o = {});
StsMetrics evaluate_sts(Embedder& e, const std::vector<ScoredPair>& pairs, const ModelEvalOptions& o = {});

// The reported numbers under the names the issue, `peft eval --json` and the
// trainer's metrics.jsonl use, in this order:
//   retrieval: ndcg@10, mrr@10, recall@1, recall@10, recall@100, map@100
//   STS:       spearman, pearson
// (counts, `queries` and `pairs`, are the structs' integer fields).
std::vector<std::pair<std::string, double>> metric_fields(const RetrievalMetrics& m);
std::vector<std::pair<std::string, double>> metric_fields(const StsMetrics& m);

// The prompts evaluate_retrieval uses for queries and documents (above).
std::string query_prompt_for(const Embedder& e, const std::string& given);
std::string doc_prompt_for(const Embedder& e, const std::string& given);
std::string sts_prompt_for(const Embedder& e, const std::string& given);

// Rows of x [n, d] scaled to unit length (a zero row stays zero).
void l2_normalize_rows(std::vector<float>& x, int64_t n, int64_t d);

}  // namespace peft
