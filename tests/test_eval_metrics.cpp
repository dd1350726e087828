// Retrieval metrics (nDCG@10, MRR@10, Recall@1/10/100, MAP@100), STS
// correlations and BM25, against examples worked out by hand below and
// against an independent implementation (bench/make_retrieval_goldens.py ->
// tests/data/retrieval/golden.json).
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <random>

#include "core/error.h"
#include "data/beir.h"
#include "embed/bm25.h"
#include "embed/correlation.h"
#include "embed/exact_search.h"
#include "embed/ranking.h"
#include "embed/ranking_metrics.h"
#include "embed/retrieval_metrics.h"
#include "test_util.h"

using namespace peft;

namespace {

nlohmann::json golden() {
  return nlohmann::json::parse(test::read_file(std::string(PEFT_SOURCE_DIR) + "/tests/data/retrieval/golden.json"));
}

}  // namespace

// The hand-computed example (docs/evaluation.md shows the same):
//
// qrels:  q1: a=3, c=1, e=0 (e judged non-relevant; b, d unjudged)
//         q2: d=0             (nothing relevant: skipped, counted in `skipped`)
//         q3: b=2, d=1
//         q4: e=1
// run:    q1: a .5, b .9, c .5, d .1, e .7
//         q3: a .2, b .2, c .3, d .2   (three-way tie)
//         q4: e .4, a .1
//
// q1 in trec_eval's order: b .9, e .7, then the tie a/c at .5 by id
// descending: c, a; then d. Grades by rank: 0, 0, 1, 3, 0.
//   DCG@10  = 1/log2(4) + 3/log2(5) = 0.5 + 1.2920297 = 1.7920297
//   IDCG@10 = 3/log2(2) + 1/log2(3) = 3 + 0.6309298   = 3.6309298
//   nDCG@10 = 0.4935457        (the other tie order, a before c, would give
//                               (1.5 + 0.4306766)/3.6309298 = 0.5317165)
//   RR@10 = 1/3; R = 2: Recall@1 = 0, Recall@10 = Recall@100 = 2/2 = 1
//   AP@100 = (1/3 + 2/4) / 2 = 0.4166667
// q3: c .3, then the tie a/b/d at .2 as d, b, a. Grades: 0, 1, 2, 0.
//   DCG = 1/log2(3) + 2/log2(4) = 1.6309298; IDCG = 2 + 1/log2(3) = 2.6309298
//   nDCG@10 = 0.6199062; RR = 1/2; Recall@1 = 0, @10 = @100 = 1
//   AP@100 = (1/2 + 2/3) / 2 = 0.5833333
// q4: e first: every metric 1.
// Means over q1, q3, q4 (q2 skipped):
//   nDCG@10 = (0.4935457 + 0.6199062 + 1)/3 = 0.7044840
//   MRR@10  = (1/3 + 1/2 + 1)/3 = 0.6111111
//   Recall@1 = (0 + 0 + 1)/3 = 0.3333333; Recall@10 = Recall@100 = 1
//   MAP@100 = (0.4166667 + 0.5833333 + 1)/3 = 0.6666667
TEST(RetrievalMetrics, HandComputedExample) {
  Qrels qrels = parse_qrels(
      "query-id\tcorpus-id\tscore\n"
      "q1\ta\t3\nq1\tc\t1\nq1\te\t0\n"
      "q2\td\t0\n"
      "q3\tb\t2\nq3\td\t1\n"
      "q4\te\t1\n",
      "hand.tsv");
  RetrievalRun run;
  run["q1"] = {{"a", .5}, {"b", .9}, {"c", .5}, {"d", .1}, {"e", .7}};
  run["q3"] = {{"a", .2}, {"b", .2}, {"c", .3}, {"d", .2}};
  run["q4"] = {{"e", .4}, {"a", .1}};
  RetrievalMetrics m = evaluate_run(qrels, run);
  EXPECT_EQ(m.queries, 3);
  EXPECT_EQ(m.skipped, 1);
  ASSERT_EQ(m.per_query.size(), 3u);
  const QueryMetrics& q1 = m.per_query[0];
  EXPECT_EQ(q1.query_id, "q1");
  EXPECT_NEAR(q1.ndcg10, (0.5 + 3 / std::log2(5.0)) / (3 + 1 / std::log2(3.0)), 1e-15);
  EXPECT_NEAR(q1.ndcg10, 0.4935457, 1e-7);
  EXPECT_DOUBLE_EQ(q1.mrr10, 1.0 / 3);
  EXPECT_DOUBLE_EQ(q1.recall1, 0);
  EXPECT_DOUBLE_EQ(q1.recall10, 1);
  EXPECT_DOUBLE_EQ(q1.map100, (1.0 / 3 + 0.5) / 2);
  const QueryMetrics& q3 = m.per_query[1];
  EXPECT_NEAR(q3.ndcg10, 0.6199062, 1e-7);
  EXPECT_DOUBLE_EQ(q3.mrr10, 0.5);
  EXPECT_DOUBLE_EQ(q3.map100, (0.5 + 2.0 / 3) / 2);
  EXPECT_NEAR(m.ndcg10, 0.7044840, 1e-7);
  EXPECT_NEAR(m.mrr10, 0.6111111, 1e-7);
  EXPECT_NEAR(m.recall1, 1.0 / 3, 1e-15);
  EXPECT_DOUBLE_EQ(m.recall10, 1);
  EXPECT_DOUBLE_EQ(m.recall100, 1);
  EXPECT_NEAR(m.map100, 2.0 / 3, 1e-15);

  // A counted query the run lacks scores 0 (trec_eval -c), it is not dropped.
  run.erase("q4");
  RetrievalMetrics without = evaluate_run(qrels, run);
  EXPECT_EQ(without.queries, 3);
  EXPECT_NEAR(without.ndcg10, (0.4935457 + 0.6199062) / 3, 1e-7);

  run["q1"].push_back({"a", 0.1});
  try {
    evaluate_run(qrels, run);
    FAIL() << "a document listed twice must be refused";
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "[embed] the run lists document 'a' twice for query 'q1'");
  }
}

TEST(RetrievalMetrics, CutoffsAndMapNormalisation) {
  // Relevant documents at ranks 2 and 12, a third never retrieved (R = 3).
  std::vector<int> ranked(120, 0);
  ranked[1] = 1, ranked[11] = 2;
  EXPECT_DOUBLE_EQ(reciprocal_rank_at_k(ranked, 10), 0.5);
  EXPECT_DOUBLE_EQ(reciprocal_rank_at_k(ranked, 1), 0.0);
  EXPECT_DOUBLE_EQ(recall_at_k(ranked, 3, 10), 1.0 / 3);
  EXPECT_DOUBLE_EQ(recall_at_k(ranked, 3, 100), 2.0 / 3);
  // MAP@k divides by R = 3, not by min(k, R) or by the relevant found.
  EXPECT_DOUBLE_EQ(average_precision_at_k(ranked, 3, 10), (1.0 / 2) / 3);
  EXPECT_DOUBLE_EQ(average_precision_at_k(ranked, 3, 100), (1.0 / 2 + 2.0 / 12) / 3);
  // nDCG@10 sees only rank 2; the ideal uses all judged grades (2, 1, 1).
  const double idcg = 2 + 1 / std::log2(3.0) + 1 / std::log2(4.0);
  EXPECT_DOUBLE_EQ(ndcg_at_k(ranked, {1, 2, 1, 0}, 10), (1 / std::log2(3.0)) / idcg);
  // A list shorter than k: the rest counts as non-relevant.
  EXPECT_DOUBLE_EQ(ndcg_at_k({3}, {3}, 10), 1.0);
  EXPECT_DOUBLE_EQ(ndcg_at_k({}, {3}, 10), 0.0);
  EXPECT_DOUBLE_EQ(ndcg_at_k({0, 0}, {0}, 10), 0.0);  // no ideal: 0, not NaN
}

TEST(RetrievalMetrics, TiesBreakByIdDescendingBytewise) {
  std::vector<ScoredDoc> d = {{"d1", 1}, {"d10", 1}, {"d9", 1}, {"D7", 1}, {"d7a", 2}, {"e", 0.5}};
  sort_ranking(d);
  std::vector<std::string> ids;
  for (auto& x : d) ids.push_back(x.id);
  // d7a scores highest; the five tied at 1 follow in descending strcmp
  // order: "d9" > "d10" > "d1" > "D7" ('D' is 0x44, 'd' 0x64).
  EXPECT_EQ(ids, (std::vector<std::string>{"d7a", "d9", "d10", "d1", "D7", "e"}));
}

TEST(RetrievalMetrics, TopKEqualsAFullSort) {
  std::mt19937 rng(7);
  std::vector<std::string> ids;
  std::vector<float> scores;
  for (int i = 0; i < 500; ++i) {
    ids.push_back("doc" + std::to_string(i));
    scores.push_back(static_cast<float>(rng() % 20) / 4.0f);  // heavy ties
  }
  std::vector<ScoredDoc> all;
  for (int i = 0; i < 500; ++i) all.push_back({ids[i], scores[i]});
  sort_ranking(all);
  for (int64_t k : {1, 7, 100, 500, 900}) {
    std::vector<ScoredDoc> top = top_k(scores.data(), ids, k);
    ASSERT_EQ(top.size(), static_cast<size_t>(std::min<int64_t>(k, 500)));
    for (size_t i = 0; i < top.size(); ++i) ASSERT_EQ(top[i].id, all[i].id) << "k " << k << " rank " << i;
  }
  std::vector<uint8_t> keep(500, 1);
  keep[std::stoi(all[0].id.substr(3))] = 0;
  EXPECT_EQ(top_k(scores.data(), ids, 1, keep.data())[0].id, all[1].id);
}

// Exact search's ranking is a full sort of the dot products, in the same
// tie order; a document with the query's id is dropped by default.
TEST(RetrievalMetrics, ExactSearchMatchesBruteForce) {
  std::mt19937 rng(3);
  const int64_t nq = 5, nd = 300, dim = 8;
  std::vector<float> q(nq * dim), d(nd * dim);
  // Small integers: every product is exact in float, ties are common.
  for (float& x : q) x = static_cast<float>(static_cast<int>(rng() % 5) - 2);
  for (float& x : d) x = static_cast<float>(static_cast<int>(rng() % 5) - 2);
  std::vector<std::string> qids, dids;
  for (int64_t i = 0; i < nq; ++i) qids.push_back("q" + std::to_string(i));
  for (int64_t i = 0; i < nd; ++i) dids.push_back(i == 17 ? "q2" : "d" + std::to_string(i));
  RetrievalRun run = exact_search(q.data(), qids, d.data(), dids, dim, 50);
  for (int64_t i = 0; i < nq; ++i) {
    std::vector<ScoredDoc> all;
    for (int64_t j = 0; j < nd; ++j) {
      if (dids[j] == qids[i]) continue;
      double s = 0;
      for (int64_t c = 0; c < dim; ++c) s += q[i * dim + c] * d[j * dim + c];
      all.push_back({dids[j], s});
    }
    sort_ranking(all);
    const std::vector<ScoredDoc>& got = run.at(qids[i]);
    ASSERT_EQ(got.size(), 50u);
    for (size_t r = 0; r < got.size(); ++r) {
      ASSERT_EQ(got[r].id, all[r].id) << qids[i] << " rank " << r;
      ASSERT_EQ(got[r].score, all[r].score);
    }
  }
}

TEST(RetrievalMetrics, AgreeWithIndependentImplementation) {
  nlohmann::json g = golden();
  Qrels qrels = parse_qrels(g["qrels_tsv"].get<std::string>(), "golden qrels");
  RetrievalRun run;
  for (auto& [q, docs] : g["run"].items())
    for (auto& d : docs) run[q].push_back({d[0].get<std::string>(), d[1].get<double>()});
  for (bool ignore : {true, false}) {
    const nlohmann::json& want = g[ignore ? "ignore_identical_ids" : "keep_identical_ids"];
    RetrievalMetrics m = evaluate_run(qrels, run, ignore);
    EXPECT_EQ(m.queries, want["queries"].get<int64_t>());
    EXPECT_EQ(m.skipped, want["skipped"].get<int64_t>());
    ASSERT_EQ(m.per_query.size(), want["per_query"].size());
    for (const QueryMetrics& q : m.per_query) {
      const nlohmann::json& w = want["per_query"][q.query_id];
      SCOPED_TRACE(q.query_id + (ignore ? " (identical ids ignored)" : ""));
      EXPECT_NEAR(q.ndcg10, w["ndcg@10"].get<double>(), 1e-12);
      EXPECT_NEAR(q.mrr10, w["mrr@10"].get<double>(), 1e-12);
      EXPECT_NEAR(q.recall1, w["recall@1"].get<double>(), 1e-12);
      EXPECT_NEAR(q.recall10, w["recall@10"].get<double>(), 1e-12);
      EXPECT_NEAR(q.recall100, w["recall@100"].get<double>(), 1e-12);
      EXPECT_NEAR(q.map100, w["map@100"].get<double>(), 1e-12);
    }
    const nlohmann::json& mean = want["mean"];
    EXPECT_NEAR(m.ndcg10, mean["ndcg@10"].get<double>(), 1e-12);
    EXPECT_NEAR(m.mrr10, mean["mrr@10"].get<double>(), 1e-12);
    EXPECT_NEAR(m.recall1, mean["recall@1"].get<double>(), 1e-12);
    EXPECT_NEAR(m.recall10, mean["recall@10"].get<double>(), 1e-12);
    EXPECT_NEAR(m.recall100, mean["recall@100"].get<double>(), 1e-12);
    EXPECT_NEAR(m.map100, mean["map@100"].get<double>(), 1e-12);
  }
}

// Ranks: 1, 5, 5, 7 -> 1, 2.5, 2.5, 4; 3, 3, 3 -> 2, 2, 2.
// x = 1 2 3 4, y = 1 3 3 2: ranks of y 1 3.5 3.5 2, means 2.5 and 2.5,
//   deviations x -1.5 -.5 .5 1.5, y -1.5 1 1 -.5
//   Σdxdy = 2.25 - .5 + .5 - .75 = 1.5, Σdx² = 5, Σdy² = 2.25+1+1+.25 = 4.5
//   spearman = 1.5 / sqrt(22.5) = 0.3162278
// Pearson of x and y itself: ȳ = 2.25, dy = -1.25 .75 .75 -.25,
//   Σdxdy = 1.875 - .375 + .375 - .375 = 1.5, Σdy² = 1.5625+.5625+.5625+.0625 = 2.75
//   pearson = 1.5 / sqrt(5 · 2.75) = 0.4045199
TEST(StsMetrics, HandComputedExample) {
  EXPECT_EQ(average_ranks({1, 5, 5, 7}), (std::vector<double>{1, 2.5, 2.5, 4}));
  EXPECT_EQ(average_ranks({3, 3, 3}), (std::vector<double>{2, 2, 2}));
  EXPECT_NEAR(spearman({1, 2, 3, 4}, {1, 3, 3, 2}), 1.5 / std::sqrt(22.5), 1e-15);
  EXPECT_NEAR(spearman({1, 2, 3, 4}, {1, 3, 3, 2}), 0.3162278, 1e-7);
  EXPECT_NEAR(pearson({1, 2, 3, 4}, {1, 3, 3, 2}), 0.4045199, 1e-7);
  EXPECT_DOUBLE_EQ(pearson({1, 2, 3}, {10, 20, 30}), 1.0);
  EXPECT_DOUBLE_EQ(spearman({1, 2, 3}, {30, 20, 10}), -1.0);
  EXPECT_TRUE(std::isnan(pearson({1, 2, 3}, {5, 5, 5})));  // undefined, as scipy
  EXPECT_TRUE(std::isnan(spearman({1}, {2})));
}

TEST(StsMetrics, AgreeWithIndependentImplementation) {
  nlohmann::json g = golden()["sts"];
  std::vector<double> gold = g["gold"].get<std::vector<double>>(), pred = g["pred"].get<std::vector<double>>();
  EXPECT_NEAR(pearson(gold, pred), g["pearson"].get<double>(), 1e-12);
  EXPECT_NEAR(spearman(gold, pred), g["spearman"].get<double>(), 1e-12);
}

// d0 "the cat sat" -> cat sat (2 tokens); d1 "Cat cat, DOG!" -> cat cat dog
// (3); d2 "a bird" -> bird (1). N = 3, avgdl = 6/3 = 2.
// idf(cat) = ln(1 + (3-2+.5)/(2+.5)) = ln 1.6 = 0.4700036
// idf(dog) = ln(1 + (3-1+.5)/(1+.5)) = ln(8/3) = 0.9808293
// k1 = .9, b = .4; query "cat dog":
//   d0: cat tf 1, norm = .9(.6 + .4·2/2) = .9:  .4700036 · 1·1.9/(1+.9) = 0.4700036
//   d1: norm = .9(.6 + .4·3/2) = 1.08
//       cat tf 2: .4700036 · 2·1.9/(2+1.08) = .4700036 · 1.2337662 = 0.5798746
//       dog tf 1: .9808293 · 1.9/(1+1.08)   = .9808293 · 0.9134615 = 0.8959498
//       total 1.4758244
//   d2: no query term: not returned.
// With Lucene's k1 = 1.2, b = .75: d0 norm 1.2 -> .4700036·2.2/2.2 = 0.4700036;
//   d1 norm 1.65 -> .4700036·4.4/3.65 + .9808293·2.2/2.65 = 1.3808531.
TEST(Bm25, HandComputedExample) {
  EXPECT_EQ(bm25_tokens("Resolv.CONF pam_securetty na\xC3\xAFve THE 42x", true),
            (std::vector<std::string>{"resolv", "conf", "pam", "securetty", "na\xC3\xAFve", "42x"}));
  EXPECT_EQ(bm25_tokens("THE end", false), (std::vector<std::string>{"the", "end"}));
  std::vector<std::string> docs = {"the cat sat", "Cat cat, DOG!", "a bird"}, ids = {"d0", "d1", "d2"};
  Bm25Index idx(docs, Bm25Options{});
  EXPECT_DOUBLE_EQ(idx.avgdl(), 2.0);
  EXPECT_NEAR(idx.idf("cat"), std::log(1.6), 1e-15);
  EXPECT_NEAR(idx.idf("dog"), 0.9808293, 1e-7);
  std::vector<ScoredDoc> hits = idx.search("cat dog", ids, 10);
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0].id, "d1");
  EXPECT_NEAR(hits[0].score, 1.4758244, 1e-7);
  EXPECT_EQ(hits[1].id, "d0");
  EXPECT_NEAR(hits[1].score, 0.4700036, 1e-7);
  Bm25Index lucene(docs, Bm25Options{1.2, 0.75, true});
  hits = lucene.search("cat dog", ids, 10);
  EXPECT_NEAR(hits[0].score, 1.3808531, 1e-7);
  EXPECT_NEAR(hits[1].score, 0.4700036, 1e-7);
  // A repeated query term counts once per occurrence; stopwords match nothing.
  EXPECT_NEAR(idx.search("dog dog", ids, 10)[0].score, 2 * 0.8959498, 1e-6);
  EXPECT_TRUE(idx.search("the a", ids, 10).empty());
  EXPECT_THROW(Bm25Index(docs, Bm25Options{0.9, 1.5, true}), InputError);
}
