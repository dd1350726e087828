// Hard negatives for contrastive training, mined from an index (as
// sentence-transformers' mine_hard_negatives does with its "top" sampling):
// for each query and each of its known positives, the documents the current
// model ranks highest that are neither a known positive nor a near-duplicate
// of one, so that the next fine-tuning round learns from this model's own
// mistakes.
//
// For query q with positives P (qrels grade > 0) and one positive p:
//   candidates  = the top `depth` documents by cosine(q, d) (the index's
//                 HNSW; widened fourfold until per_query of them pass the
//                 test below or the index is exhausted), minus the first `skip_top` ranks (often unlabelled
//                 positives), minus every document in P (a chunk counts as
//                 its "parent" document), minus a document whose id is q's
//   keep d iff  cos(q, d) <= max_score
//               and cos(q, d) < cos(q, p) - margin |cos(q, p)|
//               (a negative scoring about as high as the positive is more
//               likely an unlabelled positive or a near-duplicate of p)
//               and d is no near-duplicate of p: not the same text, and
//               cos(d, p) < near_duplicate (stored vectors, unit length)
//   negatives   = the best `per_query` of what is kept, best first
// Each (q, p, negative) is one triplet; texts are what the index embeds
// (title and text joined, corpus.h).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "search/searcher.h"

namespace peft {

struct MineSettings {
  int64_t per_query = 1;    // negatives per (query, positive)
  int64_t skip_top = 0;     // ranks skipped before choosing
  double max_score = 1.0;   // candidates scoring above are skipped
  double margin = 0.05;     // relative margin below the positive's score
  double near_duplicate = 0.98;  // cos(d, p) at or above: d is p again
  int64_t depth = 0;        // candidates looked at; 0 = skip_top + 4 per_query + |P| + 20
};

struct Triplet {
  std::string query_id, positive_id, negative_id;
  std::string anchor, positive, negative;
  double positive_score = 0, negative_score = 0;
};

struct MineStats {
  int64_t queries = 0;            // queries with a positive in the index
  int64_t skipped_queries = 0;    // queries with no positive in the index
  int64_t triplets = 0;
  int64_t short_queries = 0;      // (query, positive) pairs with fewer than per_query negatives
};

// `queries`: id -> text; `positives`: query id -> positive document ids.
// Queries are embedded in batches (the index's query prompt).
std::vector<Triplet> mine_hard_negatives(Searcher& s, const std::vector<std::pair<std::string, std::string>>& queries,
                                         const std::map<std::string, std::vector<std::string>>& positives,
                                         const MineSettings& settings, MineStats* stats = nullptr);

}  // namespace peft
