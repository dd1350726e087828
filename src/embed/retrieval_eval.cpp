#include "embed/retrieval_eval.h"

namespace peft {

RetrievalRun bm25_run(const BeirSet& set, const Bm25Options& o, int64_t depth, bool ignore_identical_ids) {
  std::vector<std::string> docs;
  docs.reserve(static_cast<size_t>(set.corpus.size()));
  for (int64_t i = 0; i < set.corpus.size(); ++i) docs.push_back(set.corpus.joined(i));
  Bm25Index index(docs, o);
  RetrievalRun run;
  for (const std::string& qid : evaluated_queries(set.qrels)) {
    const int64_t extra = ignore_identical_ids && set.corpus.index.count(qid) ? 1 : 0;
    const std::string& text = set.queries.texts[static_cast<size_t>(set.queries.index.at(qid))];
    run[qid] = index.search(text, set.corpus.ids, depth + extra);
  }
  return run;
}

RetrievalMetrics evaluate_bm25(const BeirSet& set, const Bm25Options& o, bool ignore_identical_ids) {
  return evaluate_run(set.qrels, bm25_run(set, o, kRetrievalDepth, ignore_identical_ids), ignore_identical_ids);
}

}  // namespace peft
