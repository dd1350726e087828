// Evaluating a retriever on a BEIR-style set: build the run for the queries
// that count (retrieval_metrics.h), then score it. The lexical baseline
// (BM25 over "title text") lives here; the embedding-model path (embed every
// document and query, exact search) is in model_eval.h.
#pragma once
#include <cstdint>

#include "data/beir.h"
#include "embed/bm25.h"
#include "embed/retrieval_metrics.h"

namespace peft {

// BM25 run over the queries that count: the top `depth` matching documents
// for each (one more when a document may share the query's id, so that
// dropping it still leaves `depth`, as BEIR retrieves top_k + 1).
RetrievalRun bm25_run(const BeirSet& set, const Bm25Options& o, int64_t depth = kRetrievalDepth,
                      bool ignore_identical_ids = true);

// bm25_run scored against the set's qrels.
RetrievalMetrics evaluate_bm25(const BeirSet& set, const Bm25Options& o, bool ignore_identical_ids = true);

}  // namespace peft
