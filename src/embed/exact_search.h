// Exact dense retrieval: every query against every document by dot product,
// the top k kept per query in trec_eval's order (ranking.h). With unit-length
// embeddings the dot product is the cosine similarity, which is what BEIR's
// and sentence-transformers' exact search score with.
//
// The products go through ops::gemm (float32) in blocks of queries × all
// documents, so memory is O(block · N) rather than O(queries · N).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "embed/retrieval_metrics.h"

namespace peft {

// queries [nq, dim] and docs [nd, dim], row-major. With
// `ignore_identical_ids`, a document whose id equals the query's is not
// returned (BEIR's default, see retrieval_metrics.h).
RetrievalRun exact_search(const float* queries, const std::vector<std::string>& query_ids, const float* docs,
                          const std::vector<std::string>& doc_ids, int64_t dim, int64_t k,
                          bool ignore_identical_ids = true);

}  // namespace peft
