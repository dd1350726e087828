// Retrieval evaluation through an index (`peft eval retrieval --index`):
// the run is what `peft search` would return, HNSW and all, so users
// measure what they will serve. Metrics are embed/retrieval_metrics.h's.
#pragma once
#include <string>

#include "data/beir.h"
#include "embed/retrieval_metrics.h"
#include "search/index.h"

namespace peft {

class Searcher;

// The top kRetrievalDepth (+1, so that dropping a document with the query's
// own id still leaves 100, as BEIR does) of each query that counts, by
// `mode`. `s` may be null for BM25 (then `index` is searched directly).
RetrievalRun index_run(Searcher* s, const SearchIndex& index, const BeirDocs& queries, const Qrels& qrels,
                       SearchMode mode, bool exact);

}  // namespace peft
