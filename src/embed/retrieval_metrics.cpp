#include "embed/retrieval_metrics.h"

#include <algorithm>
#include <string_view>
#include <unordered_set>

#include "core/error.h"

#include "embed/ranking_metrics.h"

namespace peft {

std::vector<std::string> evaluated_queries(const Qrels& qrels) {
  std::vector<std::string> out;
  for (const std::string& q : qrels.query_order)
    if (qrels.has_relevant(q)) out.push_back(q);
  return out;
}

RetrievalMetrics evaluate_run(const Qrels& qrels, RetrievalRun run, bool ignore_identical_ids) {
  RetrievalMetrics m;
  for (const std::string& qid : qrels.query_order) {
    if (!qrels.has_relevant(qid)) {
      ++m.skipped;
      continue;
    }
    const std::map<std::string, int>& judged = qrels.judged.at(qid);
    std::vector<int> grades;
    int64_t num_relevant = 0;
    for (const auto& [doc, rel] : judged) {
      grades.push_back(rel);
      num_relevant += rel >= 1;
    }
    std::vector<ScoredDoc> docs;
    if (auto it = run.find(qid); it != run.end()) docs = std::move(it->second);
    if (ignore_identical_ids)
      docs.erase(std::remove_if(docs.begin(), docs.end(), [&](const ScoredDoc& d) { return d.id == qid; }), docs.end());
    std::unordered_set<std::string_view> seen;
    for (const ScoredDoc& d : docs)
      if (!seen.insert(d.id).second) fail("embed", "the run lists document '" + d.id + "' twice for query '" + qid + "'");
    sort_ranking(docs);
    std::vector<int> ranked(docs.size(), 0);
    for (size_t i = 0; i < docs.size(); ++i) {
      auto j = judged.find(docs[i].id);
      if (j != judged.end()) ranked[i] = j->second;
    }
    QueryMetrics q;
    q.query_id = qid;
    q.ndcg10 = ndcg_at_k(ranked, grades, 10);
    q.mrr10 = reciprocal_rank_at_k(ranked, 10);
    q.recall1 = recall_at_k(ranked, num_relevant, 1);
    q.recall10 = recall_at_k(ranked, num_relevant, 10);
    q.recall100 = recall_at_k(ranked, num_relevant, 100);
    q.map100 = average_precision_at_k(ranked, num_relevant, 100);
    m.ndcg10 += q.ndcg10, m.mrr10 += q.mrr10, m.recall1 += q.recall1;
    m.recall10 += q.recall10, m.recall100 += q.recall100, m.map100 += q.map100;
    m.per_query.push_back(std::move(q));
  }
  m.queries = static_cast<int64_t>(m.per_query.size());
  if (m.queries > 0) {
    const double n = static_cast<double>(m.queries);
    m.ndcg10 /= n, m.mrr10 /= n, m.recall1 /= n, m.recall10 /= n, m.recall100 /= n, m.map100 /= n;
  }
  return m;
}

}  // namespace peft
