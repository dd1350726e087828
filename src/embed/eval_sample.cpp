#include "embed/eval_sample.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/rng.h"
#include "embed/embedder.h"
#include "embed/retrieval_metrics.h"

namespace peft {

namespace {

// A uniform index in [0, n) (n > 0).
int64_t draw(Rng& rng, int64_t n) { return static_cast<int64_t>(rng.next_u64() % static_cast<uint64_t>(n)); }

// cos(a_i, b_i) for rows of [n, d] matrices.
std::vector<double> row_cosines(const std::vector<float>& a, const std::vector<float>& b, int64_t n, int64_t d) {
  std::vector<double> out;
  for (int64_t i = 0; i < n; ++i) {
    double ab = 0, aa = 0, bb = 0;
    for (int64_t k = 0; k < d; ++k) {
      const double x = a[i * d + k], y = b[i * d + k];
      ab += x * y;
      aa += x * x;
      bb += y * y;
    }
    out.push_back(aa > 0 && bb > 0 ? ab / std::sqrt(aa * bb) : 0.0);
  }
  return out;
}

}  // namespace

EvalSample retrieval_sample(const BeirSet& set, int64_t max_pairs, uint64_t seed) {
  EvalSample s;
  std::vector<std::string> qids = evaluated_queries(set.qrels);
  Rng rng(seed);
  // A partial Fisher–Yates shuffle picks max_pairs queries without replacement.
  const int64_t n = std::min<int64_t>(max_pairs, static_cast<int64_t>(qids.size()));
  for (int64_t i = 0; i < n; ++i) std::swap(qids[i], qids[i + draw(rng, static_cast<int64_t>(qids.size()) - i)]);
  qids.resize(static_cast<size_t>(n));
  for (const std::string& q : qids) {
    const std::map<std::string, int>& judged = set.qrels.judged.at(q);
    std::string best;
    int grade = 0;
    for (const auto& [doc, g] : judged)
      if (g > grade && set.corpus.index.count(doc)) {
        best = doc;
        grade = g;
      }
    if (best.empty()) continue;
    // A document not judged relevant to q: rejection sampling (the corpus is
    // far larger than one query's relevant set); give up after a few tries.
    std::string neg;
    for (int tries = 0; tries < 64 && neg.empty(); ++tries) {
      const int64_t d = draw(rng, set.corpus.size());
      auto it = judged.find(set.corpus.ids[d]);
      if (it == judged.end() || it->second <= 0) neg = set.corpus.ids[d];
    }
    // Without a negative (every document relevant) the query is left out,
    // so that queries, positives and negatives stay aligned.
    if (neg.empty()) continue;
    s.queries.push_back(set.queries.texts[set.queries.index.at(q)]);
    s.positives.push_back(set.corpus.joined(set.corpus.index.at(best)));
    s.negatives.push_back(set.corpus.joined(set.corpus.index.at(neg)));
  }
  return s;
}

EvalSample sts_sample(const std::vector<ScoredPair>& pairs, int64_t max_pairs) {
  EvalSample s;
  std::vector<int64_t> order(pairs.size());
  std::iota(order.begin(), order.end(), 0);
  // Highest gold scores first; ties keep file order.
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return pairs[a].score > pairs[b].score; });
  const int64_t n = std::min<int64_t>(max_pairs, static_cast<int64_t>(pairs.size()) / 2);
  for (int64_t i = 0; i < n; ++i) {
    const ScoredPair& hi = pairs[order[i]];
    const ScoredPair& lo = pairs[order[order.size() - 1 - i]];
    s.queries.push_back(hi.sentence1);
    s.positives.push_back(hi.sentence2);
    s.negative_queries.push_back(lo.sentence1);
    s.negatives.push_back(lo.sentence2);
  }
  return s;
}

nlohmann::json embed_eval_sample(Embedder& e, const EvalSample& s, const std::string& query_prompt,
                                 const std::string& doc_prompt, int64_t batch_size) {
  const int64_t d = e.dim(), np = static_cast<int64_t>(s.queries.size()), nn = static_cast<int64_t>(s.negatives.size());
  EmbedOptions qo, po;
  qo.batch_size = po.batch_size = batch_size;
  qo.prompt = query_prompt;
  po.prompt = doc_prompt;
  const std::vector<float> q = e.embed(s.queries, qo), p = e.embed(s.positives, po);
  const std::vector<float> nq = s.negative_queries.empty() ? q : e.embed(s.negative_queries, qo);
  const std::vector<float> n = e.embed(s.negatives, po);
  nlohmann::json queries = nlohmann::json::array(), documents = nlohmann::json::array();
  for (int64_t i = 0; i < np; ++i) {
    queries.push_back(std::vector<float>(q.begin() + i * d, q.begin() + (i + 1) * d));
    documents.push_back(std::vector<float>(p.begin() + i * d, p.begin() + (i + 1) * d));
  }
  return {{"positive_cos", row_cosines(q, p, np, d)},
          {"negative_cos", row_cosines(nq, n, nn, d)},
          {"queries", queries},
          {"documents", documents}};
}

}  // namespace peft
