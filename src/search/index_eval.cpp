#include "search/index_eval.h"

#include "core/error.h"
#include "search/searcher.h"

namespace peft {

RetrievalRun index_run(Searcher* s, const SearchIndex& index, const BeirDocs& queries, const Qrels& qrels,
                       SearchMode mode, bool exact) {
  RetrievalRun run;
  std::vector<std::string> ids, texts;
  for (const auto& qid : evaluated_queries(qrels)) {
    auto it = queries.index.find(qid);
    if (it == queries.index.end()) fail("search", "qrels name query '" + qid + "', which the queries file lacks");
    ids.push_back(qid);
    texts.push_back(queries.texts[size_t(it->second)]);
  }
  if (mode != SearchMode::kBm25 && !s) fail("search", "vector and hybrid evaluation need the index's model");
  // Embed all queries at once (batched), then search each.
  std::vector<float> qv;
  if (mode != SearchMode::kBm25) qv = s->embed_queries(texts);
  const int64_t dims = index.manifest().dims;
  for (size_t i = 0; i < ids.size(); ++i) {
    SearchRequest r;
    r.mode = mode;
    r.k = kRetrievalDepth + 1;
    r.exact = exact;
    r.text = texts[i];
    if (mode != SearchMode::kBm25) r.vector.assign(qv.begin() + long(i) * dims, qv.begin() + long(i + 1) * dims);
    auto& out = run[ids[i]];
    for (const auto& h : index.search(r)) out.push_back({h.id, h.score});
  }
  return run;
}

}  // namespace peft
