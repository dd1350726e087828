// End to end (DESIGN.md tier 5) for `peft train --task embedding`: the real
// stories260K model as a decoder embedder, LoRA-fine-tuned with mnrl on the
// manpages-ir training qrels, raises nDCG@10 on the test qrels; the saved
// adapter, loaded again, gives the same metrics; bad data is one line and
// exit code 2.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <sstream>
#include <nlohmann/json.hpp>

#include "embed/embedder.h"
#include "embed/embedding_task.h"
#include "embed/model_eval.h"
#include "data/beir.h"
#include "data/scored_pairs.h"
#include "ops/pooling.h"
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

  // The folder records what the adapter was trained with, and a load that
  // names nothing (no pooling, no max length) takes it: the same metrics.
  const nlohmann::json st = nlohmann::json::parse(test::read_file(out + "/embedding_settings.json"));
  EXPECT_EQ(st["pooling"], "mean");
  EXPECT_EQ(st["normalize"], true);
  EXPECT_EQ(st["max_length"], 48);
  EXPECT_EQ(st["query_prompt"], "");
  EXPECT_EQ(st["doc_prompt"], "");
  EXPECT_TRUE(std::filesystem::exists(out + "/checkpoint-24/embedding_settings.json"));
  auto r2 = run_cli({"eval", "retrieval", "--model", model, "--adapter", out, "--data", ir, "--batch-size", "64", "--json"});
  ASSERT_EQ(r2.rc, 0) << r2.err;
  EXPECT_EQ(r2.err.find("warning"), std::string::npos) << r2.err;
  const nlohmann::json plain = nlohmann::json::parse(r2.out);
  EXPECT_NEAR(plain["ndcg@10"].get<double>(), after, 1e-5);
  EXPECT_NEAR(plain["mrr@10"].get<double>(), s["eval_after"]["mrr@10"].get<double>(), 1e-5);
  // An explicit --pooling wins, and the difference is said: peft embed's
  // vector is the library's with last-token pooling.
  r2 = run_cli({"embed", "--model", model, "--adapter", out, "--text", "how do I list open ports", "--pooling", "last"});
  ASSERT_EQ(r2.rc, 0) << r2.err;
  EXPECT_NE(r2.err.find("warning: [embed] the adapter in " + out + " was trained with mean pooling; using last as asked"),
            std::string::npos)
      << r2.err;
  eo.pooling = "last";
  const std::vector<float> want = Embedder::load(model, eo)->embed({"how do I list open ports"});
  const nlohmann::json got = nlohmann::json::parse(r2.out)["embeddings"][0];
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i].get<double>(), want[i], 1e-6) << i;
}

// The prompts an adapter records are the defaults of peft eval (queries,
// documents, STS), peft index build and, when one prompt served every text,
// peft embed; explicit prompts win. A broken settings file is an error.
TEST(EmbeddingTrainCli, AdapterSettingsGiveTheDefaultPrompts) {
  const std::string model = shared_path("models/stories260K.gguf");
  const std::string dir = test::temp_dir("emb-settings"), out = dir + "/run";
  test::write_file(dir + "/pairs.jsonl", "{\"anchor\": \"list files\", \"positive\": \"ls lists directory contents\"}\n"
                                         "{\"anchor\": \"copy files\", \"positive\": \"cp copies files\"}\n");
  auto r = run_cli({"train", "--task", "embedding", "--model", model, "--data", dir + "/pairs.jsonl", "--method", "lora",
                    "--steps", "1", "--batch-size", "2", "--prompt", "Query: ", "--pooling", "mean", "--max-length",
                    "32", "--out", out, "-q"});
  ASSERT_EQ(r.rc, 0) << r.err;
  nlohmann::json st = nlohmann::json::parse(test::read_file(out + "/embedding_settings.json"));
  EXPECT_EQ(st["query_prompt"], "Query: ");
  EXPECT_EQ(st["doc_prompt"], "Query: ");
  EmbedderOptions eo;
  eo.adapter = out;
  auto e = Embedder::load(model, eo);
  EXPECT_EQ(e->info().pooling, ops::PoolMode::Mean);
  EXPECT_EQ(e->max_length(), 32);
  EXPECT_EQ(query_prompt_for(*e, ""), "Query: ");
  EXPECT_EQ(doc_prompt_for(*e, ""), "Query: ");
  EXPECT_EQ(sts_prompt_for(*e, ""), "Query: ");
  EXPECT_EQ(query_prompt_for(*e, "given: "), "given: ");
  // peft embed: the one prompt by default, the same as asking for it.
  auto a = run_cli({"embed", "--model", model, "--adapter", out, "--text", "how do I copy a file", "--json"});
  auto b = run_cli({"embed", "--model", model, "--adapter", out, "--text", "how do I copy a file", "--prompt", "Query: ",
                    "--json"});
  auto c = run_cli({"embed", "--model", model, "--adapter", out, "--text", "how do I copy a file", "--prompt", "x",
                    "--json"});
  ASSERT_EQ(a.rc, 0) << a.err;
  EXPECT_EQ(a.out, b.out);
  EXPECT_NE(a.out, c.out);
  // Different prompts per side: peft embed cannot tell which side its texts
  // are, so it keeps the model's default; eval takes each side's.
  st["doc_prompt"] = "";
  test::write_file(out + "/embedding_settings.json", st.dump());
  e = Embedder::load(model, eo);
  EXPECT_EQ(query_prompt_for(*e, ""), "Query: ");
  EXPECT_EQ(doc_prompt_for(*e, ""), "");
  auto d = run_cli({"embed", "--model", model, "--adapter", out, "--text", "how do I copy a file", "--json"});
  auto f = run_cli({"embed", "--model", model, "--adapter", out, "--text", "how do I copy a file", "--prompt", "",
                    "--json"});
  EXPECT_EQ(d.out, f.out);
  EXPECT_NE(d.out, a.out);
  // peft index build writes the adapter's prompts into its manifest.
  test::write_file(dir + "/docs.jsonl", "{\"_id\": \"1\", \"text\": \"ls lists directory contents\"}\n");
  r = run_cli({"index", "build", "--model", model, "--adapter", out, "--corpus", dir + "/docs.jsonl", "--out",
               dir + "/index", "-q"});
  ASSERT_EQ(r.rc, 0) << r.err;
  const nlohmann::json man = nlohmann::json::parse(test::read_file(dir + "/index/manifest.json"));
  EXPECT_EQ(man["query_prompt"], "Query: ") << man.dump();
  EXPECT_EQ(man["pooling"], "mean") << man.dump();
  // A settings file that is not one.
  test::write_file(out + "/embedding_settings.json", "{\"pooling\": \"max\"}");
  r = run_cli({"embed", "--model", model, "--adapter", out, "--text", "x"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_EQ(r.err, "error: [embed] " + out + "/embedding_settings.json: pooling 'max' is not one of cls, mean, last\n");
}

// peft eval sts --pooling: the library's numbers with that pooling.
TEST(EmbeddingTrainCli, EvalStsPooling) {
  // The first 120 pairs of STS-B's dev split keep this quick.
  const std::string model = shared_path("models/stories260K.gguf"), sts = test::temp_dir("sts-pool") + "/sts.csv";
  {
    std::istringstream all(test::read_file(shared_path("data/stsb/sts-dev.csv")));
    std::string text, line;
    for (int i = 0; i < 120 && std::getline(all, line); ++i) text += line + "\n";
    test::write_file(sts, text);
  }
  auto r = run_cli({"eval", "sts", "--model", model, "--data", sts, "--pooling", "mean", "--json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EmbedderOptions eo;
  eo.pooling = "mean";
  const StsMetrics mean = evaluate_sts(*Embedder::load(model, eo), read_scored_pairs(sts));
  const StsMetrics last = evaluate_sts(*Embedder::load(model, {}), read_scored_pairs(sts));
  EXPECT_NEAR(j["spearman"].get<double>(), mean.spearman, 1e-9);
  EXPECT_NEAR(j["pearson"].get<double>(), mean.pearson, 1e-9);
  EXPECT_GT(std::fabs(mean.spearman - last.spearman), 1e-4);
  r = run_cli({"eval", "sts", "--model", model, "--data", sts, "--pooling", "max"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_EQ(r.err, "error: [embed] --pooling 'max' is not one of cls, mean, last\n");
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
