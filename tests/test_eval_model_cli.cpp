// `peft eval retrieval --model` and `peft eval sts --model` against an
// independent numpy computation (bench/eval_reference.py) over embeddings
// that `peft embed` wrote as .npy: stories260K as a decoder embedder on the
// whole manpages-ir test split and on STS-B dev, and a random-weight encoder
// of bge-small-en-v1.5's shape (with a query prompt) on part of manpages-ir.
// Then bad input through the model path: each one line and exit code 2.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/rng.h"
#include "data/beir.h"
#include "data/scored_pairs.h"
#include "embed/retrieval_metrics.h"
#include "model/bert.h"
#include "model/bert_save.h"
#include "test_util.h"

using namespace peft;
using namespace peft::test;
namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

namespace {

const char* const kMetrics[] = {"ndcg@10", "mrr@10", "recall@1", "recall@10", "recall@100", "map@100"};

std::string stories() { return shared_path("models/stories260K.gguf"); }

Json run_json(const std::vector<std::string>& args) {
  CliResult r = run_cli(args);
  EXPECT_EQ(r.rc, 0) << r.err;
  return r.rc == 0 ? Json::parse(r.out) : Json::object();
}

// bench/eval_reference.py with its arguments; its JSON result.
Json reference(const std::vector<std::string>& args) {
  std::vector<std::string> a = {std::string(PEFT_SOURCE_DIR) + "/bench/eval_reference.py"};
  a.insert(a.end(), args.begin(), args.end());
  CliResult r = run_program("/usr/bin/python3", a);
  EXPECT_EQ(r.rc, 0) << "python3 with numpy is required (scripts/setup.sh installs python3-numpy): " << r.err;
  return r.rc == 0 ? Json::parse(r.out) : Json::object();
}

void embed_npy(const std::string& model, const std::string& input, const std::string& out,
               const std::vector<std::string>& extra) {
  std::vector<std::string> a = {"embed", "--model", model, "--input", input, "--out", out, "--quiet"};
  a.insert(a.end(), extra.begin(), extra.end());
  CliResult r = run_cli(a);
  ASSERT_EQ(r.rc, 0) << r.err;
}

// The queries that count (qrels order) as their own queries.jsonl, so that
// `peft embed` batches them exactly as the evaluator does.
std::string counted_queries(const BeirSet& set, const std::string& dir) {
  std::string out;
  for (const std::string& q : evaluated_queries(set.qrels))
    out += Json{{"_id", q}, {"text", set.queries.texts[set.queries.index.at(q)]}}.dump() + "\n";
  write_file(dir + "/counted_queries.jsonl", out);
  return dir + "/counted_queries.jsonl";
}

// Metrics of peft eval (JSON) against the reference's, to `tol`.
void expect_same_retrieval(const Json& got, const Json& want, double tol) {
  ASSERT_FALSE(got.empty());
  ASSERT_FALSE(want.empty());
  // Same embeddings; float32 GEMM scores against float64 ones can only
  // reorder documents closer than ~1e-7, which matters only where their grades differ.
  EXPECT_GT(want["min_gap"].get<double>(), 1e-6) << "differently graded documents nearly tied: float rounding may "
                                                     "reorder them, so exact agreement cannot be expected";
  EXPECT_EQ(got["queries"], want["queries"]);
  EXPECT_EQ(got["skipped"], want["skipped"]);
  EXPECT_EQ(got["documents"], want["documents"]);
  for (const char* k : kMetrics) EXPECT_NEAR(got[k].get<double>(), want[k].get<double>(), tol) << k;
}

// A random-weight BERT of bge-small-en-v1.5's shape (12 layers, hidden 384,
// 12 heads, intermediate 1536, 512 positions) with its real tokenizer, CLS
// pooling, normalised, and BGE's query instruction as the "query" prompt;
// weights drawn as tests/test_embedder.cpp draws them.
std::string random_bge_small(const std::string& dir) {
  BertConfig c;
  c.vocab_size = 30522;
  c.dim = 384;
  c.hidden_dim = 1536;
  c.n_layers = 12;
  c.n_heads = 12;
  c.max_positions = 512;
  BertModel<float> m(c);
  Rng rng(7);
  for (Param<float>* p : m.base_params())
    for (int64_t i = 0; i < p->numel(); ++i)
      p->data[i] = static_cast<float>(p->name.find("norm.weight") != std::string::npos ? 1.0 + 0.1 * rng.normal()
                                                                                        : 0.05 * rng.normal());
  save_bert_hf(m, dir);
  fs::copy_file(shared_path("hf/bge-small-en-v1.5/tokenizer.json"), dir + "/tokenizer.json",
                fs::copy_options::overwrite_existing);
  write_file(dir + "/modules.json",
             R"([{"idx":0,"name":"0","path":"","type":"sentence_transformers.models.Transformer"},
                 {"idx":1,"name":"1","path":"1_Pooling","type":"sentence_transformers.models.Pooling"},
                 {"idx":2,"name":"2","path":"2_Normalize","type":"sentence_transformers.models.Normalize"}])");
  fs::create_directories(dir + "/1_Pooling");
  fs::create_directories(dir + "/2_Normalize");
  write_file(dir + "/1_Pooling/config.json", R"({"word_embedding_dimension": 384, "pooling_mode": "cls"})");
  write_file(dir + "/sentence_bert_config.json", R"({"max_seq_length": 512})");
  write_file(dir + "/config_sentence_transformers.json",
             R"({"prompts": {"query": "Represent this sentence for searching relevant passages: "},
                 "default_prompt_name": null})");
  return dir;
}

// The first `n` documents of manpages-ir and the test queries judged against
// them, as corpus.jsonl, queries.jsonl and qrels.tsv in `dir`.
BeirSet manpages_subset(const std::string& dir, int64_t n) {
  const BeirSet full = read_beir_folder(shared_path("data/manpages-ir"), "test");
  std::string corpus, queries, qrels = "query-id\tcorpus-id\tscore\n";
  for (int64_t i = 0; i < n; ++i)
    corpus += Json{{"_id", full.corpus.ids[i]}, {"title", full.corpus.titles[i]}, {"text", full.corpus.texts[i]}}
                  .dump() +
              "\n";
  std::vector<std::string> seen;
  for (const Qrels::Row& row : full.qrels.rows) {
    if (full.corpus.index.at(row.doc_id) >= n) continue;
    qrels += row.query_id + "\t" + row.doc_id + "\t" + std::to_string(row.relevance) + "\n";
    if (std::find(seen.begin(), seen.end(), row.query_id) != seen.end()) continue;
    seen.push_back(row.query_id);
    queries += Json{{"_id", row.query_id}, {"text", full.queries.texts[full.queries.index.at(row.query_id)]}}.dump() +
               "\n";
  }
  write_file(dir + "/corpus.jsonl", corpus);
  write_file(dir + "/queries.jsonl", queries);
  write_file(dir + "/qrels.tsv", qrels);
  return read_beir_folder(dir, "test");
}

}  // namespace

TEST(EvalModelCli, Stories260KRetrievalMatchesNumpyOnManpagesIr) {
  const std::string dir = temp_dir("evalcli_stories");
  const std::string beir = shared_path("data/manpages-ir");
  const BeirSet set = read_beir_folder(beir, "test");
  const std::vector<std::string> opt = {"--max-length", "64", "--batch-size", "32"};
  embed_npy(stories(), beir + "/corpus.jsonl", dir + "/docs.npy", opt);
  const std::string qfile = counted_queries(set, dir);
  embed_npy(stories(), qfile, dir + "/queries.npy", opt);
  const Json want = reference({"retrieval", beir + "/corpus.jsonl", qfile, beir + "/qrels/test.tsv",
                               dir + "/docs.npy", dir + "/queries.npy"});
  std::vector<std::string> args = {"eval", "retrieval", "--model", stories(), "--beir", beir, "--split", "test",
                                   "--json", "--quiet"};
  args.insert(args.end(), opt.begin(), opt.end());
  const Json got = run_json(args);
  EXPECT_EQ(got["queries"], 216);
  EXPECT_EQ(got["documents"], 1100);
  expect_same_retrieval(got, want, 1e-9);
  // The keys, in the order the issue names them.
  std::vector<std::string> keys;
  for (auto it = got.begin(); it != got.end(); ++it) keys.push_back(it.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"method", "ndcg@10", "mrr@10", "recall@1", "recall@10", "recall@100",
                                            "map@100", "queries", "skipped", "documents"}));
  // The lexical baseline runs on the same files.
  const Json bm25 = run_json({"eval", "retrieval", "--bm25", "--corpus", beir + "/corpus.jsonl", "--queries",
                              beir + "/queries.jsonl", "--qrels", beir + "/qrels/test.tsv", "--json"});
  EXPECT_EQ(bm25["queries"], 216);
  EXPECT_GT(bm25["ndcg@10"].get<double>(), got["ndcg@10"].get<double>());
}

TEST(EvalModelCli, Stories260KStsMatchesNumpyOnStsbDev) {
  const std::string dir = temp_dir("evalcli_sts");
  const std::string data = shared_path("data/stsb/sts-dev.csv");
  std::string s1, s2, gold;
  for (const ScoredPair& p : read_scored_pairs(data)) {
    s1 += p.sentence1 + "\n";
    s2 += p.sentence2 + "\n";
    char g[32];
    std::snprintf(g, sizeof g, "%.17g\n", p.score);
    gold += g;
  }
  write_file(dir + "/s1.txt", s1);
  write_file(dir + "/s2.txt", s2);
  write_file(dir + "/gold.txt", gold);
  embed_npy(stories(), dir + "/s1.txt", dir + "/a.npy", {});
  embed_npy(stories(), dir + "/s2.txt", dir + "/b.npy", {});
  const Json want = reference({"sts", dir + "/a.npy", dir + "/b.npy", dir + "/gold.txt"});
  const Json got = run_json({"eval", "sts", "--model", stories(), "--data", data, "--json"});
  ASSERT_FALSE(want.empty());
  ASSERT_FALSE(got.empty());
  std::vector<std::string> keys;
  for (auto it = got.begin(); it != got.end(); ++it) keys.push_back(it.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"spearman", "pearson", "pairs"}));
  EXPECT_EQ(got["pairs"], 1500);
  EXPECT_EQ(want["pairs"], 1500);
  // The evaluator embeds each distinct sentence once, in other batches than
  // the two files here: embeddings agree to float rounding, not bit for bit.
  EXPECT_NEAR(got["spearman"].get<double>(), want["spearman"].get<double>(), 1e-4);
  EXPECT_NEAR(got["pearson"].get<double>(), want["pearson"].get<double>(), 1e-5);
}

TEST(EvalModelCli, RandomBgeSmallWithQueryPromptMatchesNumpy) {
  const std::string dir = temp_dir("evalcli_bge");
  const std::string model = random_bge_small(dir + "/model");
  const BeirSet set = manpages_subset(dir, 80);
  ASSERT_GE(evaluated_queries(set.qrels).size(), 8u);
  const std::vector<std::string> opt = {"--max-length", "32", "--batch-size", "16"};
  embed_npy(model, dir + "/corpus.jsonl", dir + "/docs.npy", opt);
  const std::string qfile = counted_queries(set, dir);
  std::vector<std::string> qopt = opt;
  qopt.insert(qopt.end(), {"--prompt", "query"});
  embed_npy(model, qfile, dir + "/queries.npy", qopt);
  embed_npy(model, qfile, dir + "/queries_plain.npy", opt);
  const Json want = reference(
      {"retrieval", dir + "/corpus.jsonl", qfile, dir + "/qrels.tsv", dir + "/docs.npy", dir + "/queries.npy"});
  const Json plain = reference(
      {"retrieval", dir + "/corpus.jsonl", qfile, dir + "/qrels.tsv", dir + "/docs.npy", dir + "/queries_plain.npy"});
  std::vector<std::string> args = {"eval",      "retrieval", "--model",   model, "--corpus", dir + "/corpus.jsonl",
                                   "--queries", qfile,       "--qrels",   dir + "/qrels.tsv",  "--json", "--quiet"};
  args.insert(args.end(), opt.begin(), opt.end());
  const Json got = run_json(args);
  expect_same_retrieval(got, want, 1e-9);
  // The prompt matters on this model, so the agreement above shows that the
  // evaluator gave queries the model's "query" prompt.
  bool differs = false;
  for (const char* k : kMetrics) differs = differs || std::fabs(plain[k].get<double>() - want[k].get<double>()) > 1e-6;
  EXPECT_TRUE(differs) << "the query prompt changed no metric: this check proves nothing";
  // --query-prompt overrides it: literal text equal to the prompt gives the same numbers.
  args.insert(args.end(), {"--query-prompt", "Represent this sentence for searching relevant passages: "});
  expect_same_retrieval(run_json(args), want, 1e-12);
  fs::remove_all(dir);  // the model is 133 MB
}

TEST(EvalModelCli, BadInputIsOneLineAndExitCode2) {
  const std::string t = temp_dir("evalcli_bad");
  auto one_line = [](const CliResult& r) {
    EXPECT_EQ(r.rc, 2) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(r.err.rfind("error: [", 0), 0u) << r.err;
    return r.err;
  };
  write_file(t + "/corpus.jsonl", "{\"_id\": \"d1\", \"text\": \"list directory contents\"}\n");
  write_file(t + "/queries.jsonl", "{\"_id\": \"q1\", \"text\": \"show files\"}\n");
  write_file(t + "/qrels.tsv", "query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td9\t1\n");
  const std::vector<std::string> files = {"--corpus", t + "/corpus.jsonl", "--queries", t + "/queries.jsonl",
                                          "--qrels", t + "/qrels.tsv"};
  std::vector<std::string> a = {"eval", "retrieval", "--model", stories()};
  a.insert(a.end(), files.begin(), files.end());

  // A qrels row naming a document the corpus lacks (model and BM25 alike).
  EXPECT_EQ(one_line(run_cli(a)), "error: [data] " + t + "/qrels.tsv:3: qrels row names document 'd9', which " + t +
                                      "/corpus.jsonl does not hold\n");
  // A folder that is not an embedding model.
  fs::create_directories(t + "/not_a_model");
  write_file(t + "/not_a_model/notes.txt", "hello\n");
  one_line(run_cli({"eval", "sts", "--model", t + "/not_a_model", "--data", shared_path("data/stsb/sts-dev.csv")}));
  one_line(run_cli({"eval", "retrieval", "--model", t + "/not_a_model", "--beir", shared_path("data/manpages-ir")}));
  // A Hugging Face folder of a model that is no embedder we load (GPT-2).
  one_line(run_cli({"eval", "sts", "--model", shared_path("hf/gpt2"), "--data", shared_path("data/stsb/sts-dev.csv")}));
  // A JSONL line missing its fields.
  write_file(t + "/pairs.jsonl", "{\"sentence1\": \"a\", \"score\": 1}\n");
  EXPECT_EQ(one_line(run_cli({"eval", "sts", "--model", stories(), "--data", t + "/pairs.jsonl"})),
            "error: [data] " + t + "/pairs.jsonl:1: record has no \"sentence2\" field\n");
  write_file(t + "/queries2.jsonl", "{\"_id\": \"q1\", \"title\": \"show files\"}\n");
  a = {"eval", "retrieval", "--model", stories(), "--corpus", t + "/corpus.jsonl", "--queries", t + "/queries2.jsonl",
       "--qrels", t + "/qrels.tsv"};
  EXPECT_EQ(one_line(run_cli(a)), "error: [data] " + t + "/queries2.jsonl:1: record has no \"text\" field\n");
  // --dims larger than the model.
  a = {"eval", "retrieval", "--model", stories(), "--beir", shared_path("data/manpages-ir"), "--dims", "100000"};
  one_line(run_cli(a));
  // Model and BM25 at once, or neither.
  EXPECT_EQ(one_line(run_cli({"eval", "retrieval", "--model", stories(), "--bm25", "--beir",
                              shared_path("data/manpages-ir")})),
            "error: [eval] retrieval: give --model M (an embedding model) or --bm25, one of the two\n");
  one_line(run_cli({"eval", "retrieval", "--beir", shared_path("data/manpages-ir")}));
}
