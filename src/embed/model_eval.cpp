#include "embed/model_eval.h"

#include <cmath>
#include <unordered_map>

#include "core/error.h"
#include "embed/correlation.h"
#include "embed/embedder.h"
#include "embed/exact_search.h"

namespace peft {

namespace {

std::vector<float> embed_all(Embedder& e, const std::vector<std::string>& texts, const std::string& prompt,
                             const ModelEvalOptions& o, const char* what, int64_t& dims) {
  EmbedOptions eo;
  eo.prompt = prompt;
  eo.batch_size = o.batch_size;
  eo.max_length = o.max_length;
  eo.dims = o.dims;
  if (o.progress) eo.progress = [&o, what](int64_t done, int64_t total) { o.progress(what, done, total); };
  dims = e.resolve_dims(o.dims);
  std::vector<float> y = e.embed(texts, eo);  // [n, dims]
  PEFT_CHECK(static_cast<int64_t>(y.size()) == static_cast<int64_t>(texts.size()) * dims, "embed",
             "embed returned the wrong number of values");
  l2_normalize_rows(y, static_cast<int64_t>(texts.size()), dims);
  return y;
}

}  // namespace

void l2_normalize_rows(std::vector<float>& x, int64_t n, int64_t d) {
  for (int64_t i = 0; i < n; ++i) {
    float* r = x.data() + i * d;
    double ss = 0;
    for (int64_t j = 0; j < d; ++j) ss += static_cast<double>(r[j]) * r[j];
    if (ss == 0) continue;
    const float inv = static_cast<float>(1.0 / std::sqrt(ss));
    for (int64_t j = 0; j < d; ++j) r[j] *= inv;
  }
}

std::vector<std::pair<std::string, double>> metric_fields(const RetrievalMetrics& m) {
  return {{"ndcg@10", m.ndcg10},     {"mrr@10", m.mrr10},         {"recall@1", m.recall1},
          {"recall@10", m.recall10}, {"recall@100", m.recall100}, {"map@100", m.map100}};
}

std::vector<std::pair<std::string, double>> metric_fields(const StsMetrics& m) {
  return {{"spearman", m.spearman}, {"pearson", m.pearson}};
}

std::string query_prompt_for(const Embedder& e, const std::string& given) {
  if (!given.empty()) return given;
  if (e.adapter_settings() && !e.adapter_settings()->query_prompt.empty()) return e.adapter_settings()->query_prompt;
  return e.info().prompts.count("query") ? "query" : "";
}

std::string doc_prompt_for(const Embedder& e, const std::string& given) {
  if (!given.empty()) return given;
  if (e.adapter_settings() && !e.adapter_settings()->doc_prompt.empty()) return e.adapter_settings()->doc_prompt;
  for (const char* name : {"document", "passage", "corpus"})
    if (e.info().prompts.count(name)) return name;
  return "";
}

std::string sts_prompt_for(const Embedder& e, const std::string& given) {
  if (!given.empty()) return given;
  // The trainer embeds both sentences of a scored pair with its query prompt.
  if (e.adapter_settings() && !e.adapter_settings()->query_prompt.empty()) return e.adapter_settings()->query_prompt;
  return "";
}

RetrievalMetrics evaluate_retrieval(Embedder& e, const BeirSet& set, const ModelEvalOptions& o) {
  std::vector<std::string> docs;
  docs.reserve(static_cast<size_t>(set.corpus.size()));
  for (int64_t i = 0; i < set.corpus.size(); ++i) docs.push_back(set.corpus.joined(i));
  const std::vector<std::string> qids = evaluated_queries(set.qrels);
  std::vector<std::string> queries;
  for (const std::string& q : qids) queries.push_back(set.queries.texts[static_cast<size_t>(set.queries.index.at(q))]);
  int64_t dims = 0;
  std::vector<float> d = embed_all(e, docs, doc_prompt_for(e, o.doc_prompt), o, "documents", dims);   // [N, dims]
  std::vector<float> q = embed_all(e, queries, query_prompt_for(e, o.query_prompt), o, "queries", dims);  // [Q, dims]
  RetrievalRun run = exact_search(q.data(), qids, d.data(), set.corpus.ids, dims, kRetrievalDepth, o.ignore_identical_ids);
  return evaluate_run(set.qrels, std::move(run), o.ignore_identical_ids);
}

StsMetrics evaluate_sts(Embedder& e, const std::vector<ScoredPair>& pairs, const ModelEvalOptions& o) {
  if (pairs.empty()) fail("eval", "no sentence pairs to evaluate");
  // Each distinct sentence is embedded once (STS files repeat many).
  std::unordered_map<std::string, int64_t> slot;
  std::vector<std::string> texts;
  std::vector<std::pair<int64_t, int64_t>> idx;
  auto id_of = [&](const std::string& s) {
    auto [it, fresh] = slot.emplace(s, static_cast<int64_t>(texts.size()));
    if (fresh) texts.push_back(s);
    return it->second;
  };
  for (const ScoredPair& p : pairs) idx.emplace_back(id_of(p.sentence1), id_of(p.sentence2));
  int64_t dims = 0;
  std::vector<float> y = embed_all(e, texts, sts_prompt_for(e, o.prompt), o, "sentences", dims);  // [distinct, dims]
  std::vector<double> cosine, gold;
  for (size_t i = 0; i < pairs.size(); ++i) {
    const float* a = y.data() + idx[i].first * dims;
    const float* b = y.data() + idx[i].second * dims;
    double dot = 0;
    for (int64_t j = 0; j < dims; ++j) dot += static_cast<double>(a[j]) * b[j];
    cosine.push_back(dot);
    gold.push_back(pairs[i].score);
  }
  StsMetrics m;
  m.pairs = static_cast<int64_t>(pairs.size());
  m.spearman = spearman(gold, cosine);
  m.pearson = pearson(gold, cosine);
  return m;
}

}  // namespace peft
