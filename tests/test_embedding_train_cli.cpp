// End to end (DESIGN.md tier 5) for `peft train --task embedding`: the real
// stories260K model as a decoder embedder, LoRA-fine-tuned with mnrl on the
// manpages-ir training qrels, raises nDCG@10 on the test qrels; the saved
// adapter, loaded again, gives the same metrics; bad data is one line and
// exit code 2.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <sstream>
#include <nlohmann/json.hpp>

#include "embed/embedder.h"
#include "embed/embedding_task.h"
#include "embed/model_eval.h"
#include "data/beir.h"
#include "test_util.h"

using namespace peft;
using peft::test::run_cli;
using peft::test::shared_path;

namespace {

// Short texts and few steps keep this well under a minute on two cores.
// Mean pooling: stories260K's last token (the decoder default) summarises
// a man page too poorly to learn from in a few steps.
const std::vector<std::string> kCommon = {"--max-length", "48",   "--batch-size", "16",
                                          "--lr",         "5e-3", "--rank",       "8",
                                          "--targets",    "q,k,v,o,up,down",      "--seed",
                                          "1",            "--pooling",            "mean"};

std::vector<std::string> with(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

}  // namespace

TEST(EmbeddingTrainCli, LoraMnrlRaisesNdcgAndTheAdapterReloads) {
  const std::string model = shared_path("models/stories260K.gguf"), ir = shared_path("data/manpages-ir");
  const std::string out = test::temp_dir("emb-train");
  auto r = run_cli(with({"train", "--task", "embedding", "--model", model, "--data", ir, "--eval-retrieval", ir,
                         "--method", "lora", "--loss", "mnrl", "--steps", "24", "--eval-every", "12", "--out", out, "--json"},
                        kCommon));
  ASSERT_EQ(r.rc, 0) << r.err;
  const nlohmann::json s = nlohmann::json::parse(r.out);
  const double before = s["eval_before"]["ndcg@10"], after = s["eval_after"]["ndcg@10"];
  std::printf("nDCG@10 %.4f -> %.4f, MRR@10 %.4f -> %.4f\n", before, after, s["eval_before"]["mrr@10"].get<double>(),
              s["eval_after"]["mrr@10"].get<double>());
  EXPECT_GT(after, before + 0.02) << r.err;
  EXPECT_TRUE(std::filesystem::exists(out + "/adapter_config.json"));
  EXPECT_TRUE(std::filesystem::exists(out + "/metrics.jsonl"));
  // Evaluations before (step 0), at --eval-every and after, in metrics.jsonl;
  // training steps carry texts and texts/s.
  std::vector<int64_t> eval_steps;
  int64_t step_records = 0;
  std::istringstream lines(test::read_file(out + "/metrics.jsonl"));
  for (std::string line; std::getline(lines, line);) {
    const nlohmann::json m = nlohmann::json::parse(line);
    if (m.contains("ndcg@10")) eval_steps.push_back(m["step"]);
    if (m.contains("loss")) {
      ++step_records;
      EXPECT_GT(m["texts_per_second"].get<double>(), 0);
      EXPECT_EQ(m["texts"].get<int64_t>(), m["step"].get<int64_t>() * 32);
    }
  }
  EXPECT_EQ(eval_steps, (std::vector<int64_t>{0, 12, 24}));
  EXPECT_EQ(step_records, 24);
  // What peft report reads: the method, parameter counts, memory split and speed.
  EXPECT_EQ(s["task"], "embedding");
  EXPECT_EQ(s["method"], "lora");
  EXPECT_GT(s["trainable_parameters"].get<double>(), 0);
  EXPECT_GT(s["memory_bytes"]["activations"].get<double>(), 0);
  EXPECT_GT(s["tokens_per_second"].get<double>(), 0);
  EXPECT_EQ(s["texts"].get<int64_t>(), 24 * 16 * 2);  // steps × batch × (query, document)
  // embedding_eval.json: 200 sampled test queries (of 216), their documents
  // and the cosines, before and after; training moved the positives away
  // from the negatives.
  const nlohmann::json e = nlohmann::json::parse(test::read_file(out + "/embedding_eval.json"));
  double gap[2];
  int k = 0;
  for (const char* phase : {"before", "after"}) {
    const nlohmann::json& p = e[phase];
    ASSERT_EQ(p["queries"].size(), 200u) << phase;
    ASSERT_EQ(p["documents"].size(), 200u);
    ASSERT_EQ(p["positive_cos"].size(), 200u);
    ASSERT_EQ(p["negative_cos"].size(), 200u);
    EXPECT_EQ(p["queries"][0].size(), 64u);
    double pos = 0, neg = 0;
    for (int i = 0; i < 200; ++i) {
      pos += p["positive_cos"][i].get<double>();
      neg += p["negative_cos"][i].get<double>();
    }
    gap[k++] = (pos - neg) / 200;
  }
  EXPECT_GT(gap[1], gap[0] + 0.02) << "mean cos(positive) - cos(negative): " << gap[0] << " -> " << gap[1];

  // The saved adapter on a freshly loaded model scores the same.
  EmbedderOptions eo;
  eo.max_length = 48;
  eo.pooling = "mean";
  eo.adapter = out;
  auto m = Embedder::load(model, eo);
  const BeirSet set = read_beir_folder(ir, "test");
  ModelEvalOptions mo;
  mo.batch_size = 64;
  const RetrievalMetrics again = evaluate_retrieval(*m, set, mo);
  EXPECT_NEAR(again.ndcg10, after, 1e-5);
  EXPECT_NEAR(again.mrr10, s["eval_after"]["mrr@10"].get<double>(), 1e-5);
  EXPECT_NEAR(again.recall10, s["eval_after"]["recall@10"].get<double>(), 1e-5);
}

// Every refusal is exactly one line "error: [area] ..." on stderr and exit code 2.
TEST(EmbeddingTrainCli, BadInputIsOneLineAndExitCode2) {
  const std::string dir = test::temp_dir("emb-bad"), model = shared_path("models/stories260K.gguf");
  test::write_file(dir + "/missing.jsonl", "{\"anchor\": \"a\", \"positive\": \"p\"}\n{\"anchor\": \"b\"}\n");
  test::write_file(dir + "/pairs.jsonl", "{\"anchor\": \"a\", \"positive\": \"p\"}\n{\"anchor\": \"b\", \"positive\": \"q\"}\n");
  test::write_file(dir + "/model.txt", "not a model\n");
  const std::vector<std::string> base = {"train", "--task", "embedding", "--model", model, "--out", dir + "/out"};
  // The error is the last line of stderr (progress lines such as "data: ..."
  // may come before it) and the only one that says error.
  auto last_line = [](const std::string& err) {
    const size_t nl = err.empty() ? std::string::npos : err.rfind('\n', err.size() - 2);  // before the final newline
    return nl == std::string::npos ? err : err.substr(nl + 1);
  };
  auto errors = [](const std::string& err) {
    size_t n = 0;
    for (size_t at = err.find("error"); at != std::string::npos; at = err.find("error", at + 1)) ++n;
    return n;
  };
  struct Case {
    std::vector<std::string> args;
    std::string want;
  };
  const std::vector<Case> cases = {
      {{"--data", dir + "/missing.jsonl"}, "error: [data] " + dir + "/missing.jsonl:2: missing the field \"positive\""},
      {{"--data", dir + "/pairs.jsonl", "--loss", "infonce"}, "error: [embed] unknown loss 'infonce'"},
      {{"--data", dir + "/pairs.jsonl", "--loss", "cosent"}, "error: [train] --loss cosent needs scored pairs"},
      {{"--data", dir + "/pairs.jsonl", "--loss", "triplet"}, "error: [train] --loss triplet needs (anchor, positive, negative)"},
      {{"--data", shared_path("data/stsb/sts-dev.csv"), "--loss", "mnrl"}, "error: [train] --loss mnrl needs (anchor, positive[, negative])"},
      {{"--data", dir + "/pairs.jsonl", "--matryoshka", "128,32"}, "error: [train] --matryoshka 128 is larger than the model's 64 dimensions"},
      {{"--data", dir + "/pairs.jsonl", "--matryoshka", "32,x"}, "error: [embed]"},
      {{"--data", dir + "/pairs.jsonl", "--pooling", "max"}, "error: [train] unknown pooling 'max'"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = base;
    args.insert(args.end(), c.args.begin(), c.args.end());
    const auto r = run_cli(args);
    EXPECT_EQ(r.rc, 2) << c.want << "\n" << r.err;
    EXPECT_EQ(last_line(r.err).rfind(c.want, 0), 0u) << r.err;
    EXPECT_EQ(errors(r.err), 1u) << r.err;
    EXPECT_EQ(r.err.back(), '\n');
  }
  auto r = run_cli({"train", "--task", "ranking", "--model", model, "--data", dir + "/pairs.jsonl", "--out", dir + "/out"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_EQ(r.err, "error: [train] unknown task 'ranking' (use llm or embedding)\n");
  // A file that is not an embedding model.
  r = run_cli({"train", "--task", "embedding", "--model", dir + "/model.txt", "--data", dir + "/pairs.jsonl",
                    "--out", dir + "/out"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_EQ(last_line(r.err), "error: [embed] " + dir + "/model.txt: not an embedding model (neither a model folder nor a GGUF file)\n") << r.err;
  EXPECT_EQ(errors(r.err), 1u) << r.err;
  // Embedding flags on a language-model run.
  r = run_cli({"train", "--model", model, "--data", shared_path("data/tinyshakespeare/input.txt"), "--loss", "mnrl",
               "--out", dir + "/out"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_EQ(r.err, "error: [train] --loss applies to --task embedding only\n");
}
