// Model evaluation wiring: evaluate_retrieval equals a brute-force cosine
// ranking of the embedder's own embeddings scored by evaluate_run (the
// metrics themselves are checked in test_eval_metrics); evaluate_sts equals
// the correlations of explicitly computed cosines; `peft eval retrieval`
// and `peft eval sts` run stories260K as a decoder embedder on the real
// manpages-ir and STS-B files; bad input exits 2 with one line.
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
using peft::test::run_cli;
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

nlohmann::ordered_json last_json(const std::string& out) {
  size_t end = out.find_last_not_of('\n');
  size_t start = out.rfind('\n', end);
  return nlohmann::ordered_json::parse(out.substr(start == std::string::npos ? 0 : start + 1, end + 1 - (start + 1)));
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

TEST(EvalCli, Stories260KOnManpagesIrAndStsb) {
  const std::string model = shared_path("models/stories260K.gguf");
  test::CliResult r = run_cli({"eval", "retrieval", "--model", model, "--data", shared_path("data/manpages-ir"),
                               "--split", "test", "--max-length", "128", "--json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  nlohmann::ordered_json j = last_json(r.out);
  EXPECT_EQ(j["queries"], 216);
  for (const char* k : {"ndcg@10", "mrr@10", "recall@1", "recall@10", "recall@100", "map@100"}) {
    EXPECT_GE(j[k].get<double>(), 0.0) << k;
    EXPECT_LE(j[k].get<double>(), 1.0) << k;
  }
  EXPECT_LE(j["recall@1"].get<double>(), j["recall@10"].get<double>());
  EXPECT_LE(j["recall@10"].get<double>(), j["recall@100"].get<double>());

  r = run_cli({"eval", "sts", "--model", model, "--data", shared_path("data/stsb/sts-dev.csv"), "--max-length", "64",
               "--json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  j = last_json(r.out);
  EXPECT_EQ(j["pairs"], 1500);
  EXPECT_TRUE(j["spearman"].is_number());
  EXPECT_TRUE(j["pearson"].is_number());
}

TEST(EvalCli, ModelBadInput) {
  const std::string t = temp_dir("evalbad");
  test::CliResult r = run_cli({"eval", "sts", "--model", t, "--data", shared_path("data/stsb/sts-dev.csv")});
  EXPECT_EQ(r.rc, 2);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  write_file(t + "/pairs.jsonl", "{\"sentence1\": \"a\", \"score\": 1}\n");
  r = run_cli({"eval", "sts", "--model", shared_path("models/stories260K.gguf"), "--data", t + "/pairs.jsonl"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_EQ(r.err, "error: [data] " + t + "/pairs.jsonl:1: record has no \"sentence2\" field\n");
  r = run_cli({"eval", "retrieval", "--model", shared_path("models/stories260K.gguf"), "--bm25", "--data",
               shared_path("data/manpages-ir")});
  EXPECT_EQ(r.rc, 2);
  EXPECT_EQ(r.err, "error: [eval] retrieval: give --model M (an embedding model) or --bm25, one of the two\n");
  r = run_cli({"eval", "retrieval", "--model", shared_path("models/stories260K.gguf"), "--data",
               shared_path("data/manpages-ir"), "--dims", "100000"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}
