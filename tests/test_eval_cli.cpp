// `peft eval` end to end on the real files in ../shared: BM25 on
// manpages-ir against the independent implementation's numbers
// (bench/make_retrieval_goldens.py), and bad input as one line, exit 2.
#include <gtest/gtest.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "test_util.h"

using namespace peft;
using peft::test::run_cli;
using peft::test::shared_path;
using peft::test::temp_dir;
using peft::test::write_file;

namespace {

nlohmann::json golden() {
  return nlohmann::json::parse(test::read_file(std::string(PEFT_SOURCE_DIR) + "/tests/data/retrieval/golden.json"));
}

void expect_metrics(const nlohmann::json& got, const nlohmann::json& want) {
  for (const char* k : {"ndcg@10", "mrr@10", "recall@1", "recall@10", "recall@100", "map@100"})
    EXPECT_NEAR(got.at(k).get<double>(), want.at(k).get<double>(), 1e-9) << k;
}

// The last line of `out`, parsed.
nlohmann::json last_json(const std::string& out) {
  size_t end = out.find_last_not_of('\n');
  size_t start = out.rfind('\n', end);
  return nlohmann::json::parse(out.substr(start == std::string::npos ? 0 : start + 1, end + 1 - (start + 1)));
}

// The one line on stderr (and nothing else).
std::string one_line(const std::string& err) {
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  return err;
}

}  // namespace

TEST(EvalCli, Bm25OnManpagesIrMatchesIndependentImplementation) {
  const std::string dir = shared_path("data/manpages-ir");
  nlohmann::json want = golden()["manpages_bm25"];
  // The BEIR folder form, default k1 0.9, b 0.4.
  test::CliResult r = run_cli({"eval", "retrieval", "--bm25", "--data", dir, "--split", "test", "--json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  nlohmann::json j = last_json(r.out);
  EXPECT_EQ(j["queries"], 216);
  EXPECT_EQ(j["skipped"], 0);
  EXPECT_EQ(j["documents"], 1100);
  expect_metrics(j, want[0]["mean"]);
  // The three-file form, Lucene's 1.2 / 0.75.
  r = run_cli({"eval", "retrieval", "--bm25", "--corpus", dir + "/corpus.jsonl", "--queries", dir + "/queries.jsonl",
               "--qrels", dir + "/qrels/test.tsv", "--bm25-k1", "1.2", "--bm25-b", "0.75", "--json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  expect_metrics(last_json(r.out), want[1]["mean"]);
  // Text output names every metric.
  r = run_cli({"eval", "retrieval", "--bm25", "--data", dir});
  ASSERT_EQ(r.rc, 0) << r.err;
  for (const char* k : {"ndcg@10", "mrr@10", "recall@1 ", "recall@10 ", "recall@100", "map@100", "216 queries"})
    EXPECT_NE(r.out.find(k), std::string::npos) << k << " in\n" << r.out;
}

TEST(EvalCli, BadInputIsOneLineAndExit2) {
  const std::string dir = shared_path("data/manpages-ir");
  const std::string t = temp_dir("evalcli");
  write_file(t + "/qrels.tsv", "query-id\tcorpus-id\tscore\nq_nss.5\tnss.5\t1\nq_nope\tnss.5\t1\n");
  test::CliResult r = run_cli({"eval", "retrieval", "--bm25", "--corpus", dir + "/corpus.jsonl", "--queries",
                               dir + "/queries.jsonl", "--qrels", t + "/qrels.tsv"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_EQ(one_line(r.err), "error: [data] " + t + "/qrels.tsv:3: qrels row names query 'q_nope', which " + dir +
                                 "/queries.jsonl does not hold\n");
  write_file(t + "/qrels.tsv", "query-id\tcorpus-id\tscore\nq_nss.5\tnss.9\t1\n");
  r = run_cli({"eval", "retrieval", "--bm25", "--corpus", dir + "/corpus.jsonl", "--queries", dir + "/queries.jsonl",
               "--qrels", t + "/qrels.tsv"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(one_line(r.err).find("qrels row names document 'nss.9'"), std::string::npos) << r.err;

  write_file(t + "/corpus.jsonl", "{\"_id\": \"a\", \"text\": \"x\"}\n{\"_id\": \"b\"}\n");
  r = run_cli({"eval", "retrieval", "--bm25", "--corpus", t + "/corpus.jsonl", "--queries", dir + "/queries.jsonl",
               "--qrels", t + "/qrels.tsv"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_EQ(one_line(r.err), "error: [data] " + t + "/corpus.jsonl:2: record has no \"text\" field\n");

  r = run_cli({"eval", "retrieval", "--bm25", "--corpus", dir + "/corpus.jsonl"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_EQ(one_line(r.err),
            "error: [eval] retrieval needs --beir DIR (a BEIR folder) or all three of --corpus, --queries and "
            "--qrels\n");
  r = run_cli({"eval", "retrieval", "--bm25", "--data", dir, "--split", "dev"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_EQ(one_line(r.err), "error: [data] " + dir + ": no qrels/dev.tsv (the split named by --split)\n");
  r = run_cli({"eval", "retrieval", "--bm25", "--data", dir, "--bm25-b", "2"});
  EXPECT_EQ(r.rc, 2);
  one_line(r.err);
  r = run_cli({"eval"});
  EXPECT_EQ(r.rc, 2);
}
