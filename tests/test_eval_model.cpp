// The library calls the trainer uses (model_eval.h): evaluate_retrieval
// equals a brute-force cosine ranking of the embedder's own embeddings
// scored by evaluate_run (the metrics themselves are checked in
// test_eval_metrics); evaluate_sts equals the correlations of explicitly
// computed cosines. The CLI against numpy is test_eval_model_cli.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "data/beir.h"
#include "data/scored_pairs.h"
#include "embed/correlation.h"
#include "embed/embedder.h"
#include "embed/model_eval.h"
#include "embed/ranking.h"
#include "embed/retrieval_metrics.h"
#include "test_util.h"

using namespace peft;
using peft::test::shared_path;
using peft::test::temp_dir;
using peft::test::write_file;

namespace {

// A small BEIR set from manpages-ir: the first 60 documents, and the test
// queries whose relevant document is among them.
BeirSet small_set(const std::string& dir) {
  BeirSet full = read_beir_folder(shared_path("data/manpages-ir"), "test");
  std::string corpus, queries, qrels = "query-id\tcorpus-id\tscore\n";
  for (int64_t i = 0; i < 60; ++i) {
    nlohmann::json r{{"_id", full.corpus.ids[i]}, {"title", full.corpus.titles[i]}, {"text", full.corpus.texts[i]}};
    corpus += r.dump() + "\n";
  }
  int64_t n = 0;
  for (const Qrels::Row& row : full.qrels.rows) {
    if (full.corpus.index.at(row.doc_id) >= 60) continue;
    qrels += row.query_id + "\t" + row.doc_id + "\t" + std::to_string(row.relevance) + "\n";
    nlohmann::json q{{"_id", row.query_id}, {"text", full.queries.texts[full.queries.index.at(row.query_id)]}};
    queries += q.dump() + "\n";
    ++n;
  }
  EXPECT_GE(n, 5);
  write_file(dir + "/corpus.jsonl", corpus);
  write_file(dir + "/queries.jsonl", queries);
  write_file(dir + "/qrels.tsv", qrels);
  return read_beir_folder(dir, "test");
}

}  // namespace

TEST(ModelEval, RetrievalEqualsBruteForceCosineRanking) {
  const std::string dir = temp_dir("modeleval");
  BeirSet set = small_set(dir);
  std::unique_ptr<Embedder> e = Embedder::load(shared_path("models/stories260K.gguf"));
  ModelEvalOptions o;
  o.batch_size = 8;
  o.max_length = 64;
  RetrievalMetrics got = evaluate_retrieval(*e, set, o);

  // The same by hand: embed, normalise, cosine against every document, full sort.
  EmbedOptions eo;
  eo.batch_size = 8;
  eo.max_length = 64;
  std::vector<std::string> docs, qtexts;
  for (int64_t i = 0; i < set.corpus.size(); ++i) docs.push_back(set.corpus.joined(i));
  std::vector<std::string> qids = evaluated_queries(set.qrels);
  for (const std::string& q : qids) qtexts.push_back(set.queries.texts[set.queries.index.at(q)]);
  const int64_t dim = e->dim();
  std::vector<float> d = e->embed(docs, eo), q = e->embed(qtexts, eo);
  auto norm = [&](const float* v) {
    double s = 0;
    for (int64_t j = 0; j < dim; ++j) s += double(v[j]) * v[j];
    return std::sqrt(s);
  };
  RetrievalRun run;
  for (size_t i = 0; i < qids.size(); ++i) {
    std::vector<ScoredDoc> all;
    for (int64_t k = 0; k < set.corpus.size(); ++k) {
      double dot = 0;
      for (int64_t j = 0; j < dim; ++j) dot += double(q[i * dim + j]) * d[k * dim + j];
      all.push_back({set.corpus.ids[k], dot / (norm(&q[i * dim]) * norm(&d[k * dim]))});
    }
    run[qids[i]] = all;
  }
  RetrievalMetrics want = evaluate_run(set.qrels, run);
  EXPECT_EQ(got.queries, want.queries);
  // Scores differ by float rounding (float GEMM against double here), which
  // can swap two near-equal documents; the metrics agree closely.
  EXPECT_NEAR(got.ndcg10, want.ndcg10, 0.02);
  EXPECT_NEAR(got.recall100, want.recall100, 1e-12);  // 60 documents: all retrieved
  EXPECT_GT(got.ndcg10, 0.0);
}

TEST(ModelEval, StsEqualsExplicitCosines) {
  std::vector<ScoredPair> pairs = read_scored_pairs(shared_path("data/stsb/sts-dev.csv"));
  pairs.resize(40);
  std::unique_ptr<Embedder> e = Embedder::load(shared_path("models/stories260K.gguf"));
  StsMetrics got = evaluate_sts(*e, pairs);
  EXPECT_EQ(got.pairs, 40);
  std::vector<std::string> s1, s2;
  std::vector<double> gold, cosine;
  for (const ScoredPair& p : pairs) s1.push_back(p.sentence1), s2.push_back(p.sentence2), gold.push_back(p.score);
  std::vector<float> a = e->embed(s1), b = e->embed(s2);
  const int64_t dim = e->dim();
  for (size_t i = 0; i < pairs.size(); ++i) {
    double ab = 0, aa = 0, bb = 0;
    for (int64_t j = 0; j < dim; ++j) {
      ab += double(a[i * dim + j]) * b[i * dim + j];
      aa += double(a[i * dim + j]) * a[i * dim + j];
      bb += double(b[i * dim + j]) * b[i * dim + j];
    }
    cosine.push_back(ab / std::sqrt(aa * bb));
  }
  EXPECT_NEAR(got.spearman, spearman(gold, cosine), 1e-3);
  EXPECT_NEAR(got.pearson, pearson(gold, cosine), 1e-5);
}
