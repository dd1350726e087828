// The CLI end to end on the real model, and what it does with bad input:
// every bad file or flag gives one "error: ..." line and exit code 2.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "io/gguf.h"
#include "test_util.h"

using peft::test::read_file;
using peft::test::run_cli;
using peft::test::shared_path;
using peft::test::temp_dir;
using peft::test::write_file;

namespace {

std::string model() { return shared_path("models/stories260K.gguf"); }
std::string shakespeare() { return shared_path("data/tinyshakespeare/input.txt"); }

// The last line of stderr, which must be the one error line.
std::string last_line(const std::string& s) {
  std::string t = s;
  while (!t.empty() && t.back() == '\n') t.pop_back();
  size_t nl = t.rfind('\n');
  return nl == std::string::npos ? t : t.substr(nl + 1);
}

void expect_input_error(const std::vector<std::string>& args, const std::string& needle) {
  auto r = run_cli(args);
  EXPECT_EQ(r.rc, 2) << "stderr: " << r.err;
  std::string line = last_line(r.err);
  EXPECT_EQ(line.rfind("error: ", 0), 0u) << r.err;
  EXPECT_NE(line.find(needle), std::string::npos) << "expected '" << needle << "' in: " << line;
}

}  // namespace

// Issue 2: a short full fine-tune lowers the held-out NLL by at least 0.5.
TEST(CliTrain, FullFineTuneLowersHeldOutNllByHalfANat) {
  std::string out = temp_dir("full");
  auto r = run_cli({"train", "--model", model(), "--data", shakespeare(), "--method", "full", "--lr", "1e-3",
                    "--steps", "30", "--batch-size", "4", "--seq-len", "128", "--eval-windows", "8", "--out", out,
                    "--json", "--seed", "1"});
  ASSERT_EQ(r.rc, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  double before = j["eval_loss_before"], after = j["eval_loss_after"];
  EXPECT_GT(before - after, 0.5) << before << " -> " << after;
  // Outputs: the model, metrics with one line per step plus evaluations, a checkpoint.
  EXPECT_TRUE(std::filesystem::exists(out + "/model.gguf"));
  EXPECT_TRUE(std::filesystem::exists(out + "/checkpoint-30/trainer_state.json"));
  std::string metrics = read_file(out + "/metrics.jsonl");
  EXPECT_EQ(std::count(metrics.begin(), metrics.end(), '\n'), 32);
  // The trained model generates and scores through the same commands.
  auto g = run_cli({"generate", "--model", out + "/model.gguf", "--prompt", "ROMEO:", "--max-tokens", "20",
                    "--seed", "3", "--json"});
  ASSERT_EQ(g.rc, 0) << g.err;
  EXPECT_EQ(nlohmann::json::parse(g.out)["tokens"].size(), 20u);
}

// An adapter trained by the CLI loads with --adapter, merges and exports.
TEST(CliTrain, LoraAdapterReloadsMergesAndExports) {
  std::string out = temp_dir("lora");
  auto r = run_cli({"train", "--model", model(), "--data", shakespeare(), "--method", "lora", "--targets", "q,k,v,o",
                    "--rank", "4", "--alpha", "8", "--steps", "10", "--batch-size", "4", "--seq-len", "64",
                    "--eval-windows", "4", "--out", out, "--json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(std::filesystem::exists(out + "/adapter_config.json"));
  std::string text = temp_dir("text") + "/t.txt";
  write_file(text, read_file(shakespeare()).substr(1000000, 3000));
  auto nll = [&](std::vector<std::string> extra) {
    std::vector<std::string> a{"perplexity", "--model", model(), "--data", text, "--json"};
    a.insert(a.end(), extra.begin(), extra.end());
    auto p = run_cli(a);
    EXPECT_EQ(p.rc, 0) << p.err;
    return nlohmann::json::parse(p.out)["mean_nll"].get<double>();
  };
  double base = nll({}), adapted = nll({"--adapter", out}), half = nll({"--adapter", out + ":0.5"});
  EXPECT_LT(adapted, base);
  EXPECT_NE(half, adapted);
  auto m = run_cli({"merge", "--model", model(), "--adapter", out, "--out", out + "/merged.gguf"});
  ASSERT_EQ(m.rc, 0) << m.err;
  auto pm = run_cli({"perplexity", "--model", out + "/merged.gguf", "--data", text, "--json"});
  EXPECT_NEAR(nlohmann::json::parse(pm.out)["mean_nll"].get<double>(), adapted, 1e-4);
  auto e = run_cli({"export", "--model", model(), "--adapter", out, "--out", out + "/lora.gguf"});
  ASSERT_EQ(e.rc, 0) << e.err;
  auto f = peft::GgufFile::open(out + "/lora.gguf");
  EXPECT_EQ(f->get_string("general.type"), "adapter");
  EXPECT_EQ(f->get_string("adapter.type"), "lora");
  EXPECT_EQ(f->get_float("adapter.lora.alpha"), 8.0);
  ASSERT_NE(f->find_tensor("blk.0.attn_q.weight.lora_a"), nullptr);
  EXPECT_EQ(f->find_tensor("blk.0.attn_q.weight.lora_a")->ne, (std::vector<int64_t>{64, 4}));
  EXPECT_EQ(f->find_tensor("blk.0.attn_q.weight.lora_b")->ne, (std::vector<int64_t>{4, 64}));
}

TEST(CliErrors, BadModelFiles) {
  std::string dir = temp_dir("badfiles");
  std::string bytes = read_file(model());
  write_file(dir + "/empty.gguf", "");
  write_file(dir + "/trunc.gguf", bytes.substr(0, 5000));
  write_file(dir + "/trunc_data.gguf", bytes.substr(0, bytes.size() - 100));
  std::string flipped = bytes;
  flipped[10] = static_cast<char>(flipped[10] ^ 0x40);  // tensor count's high bits
  write_file(dir + "/flipped.gguf", flipped);
  for (const std::string& cmd : {"info", "generate"}) {
    auto args = [&](const std::string& f) {
      return cmd == std::string("info") ? std::vector<std::string>{cmd, f}
                                        : std::vector<std::string>{cmd, "--model", f, "--max-tokens", "2"};
    };
    expect_input_error(args(dir + "/empty.gguf"), "[gguf]");
    expect_input_error(args(dir + "/trunc.gguf"), "[gguf]");
    expect_input_error(args(dir + "/trunc_data.gguf"), "[gguf]");
    expect_input_error(args(dir + "/flipped.gguf"), "[gguf]");
    expect_input_error(args(dir + "/missing.gguf"), "missing.gguf");
  }
  // A valid GGUF of an architecture we do not know.
  auto src = peft::GgufFile::open(model());
  peft::GgufWriter w;
  for (const auto& k : src->keys()) w.set(k, src->get(k));
  w.set("general.architecture", peft::GgufValue::string("gpt9"));
  for (const auto& t : src->tensors()) w.add_tensor(t.name, src->tensor(t.name));
  w.write(dir + "/gpt9.gguf");
  expect_input_error({"generate", "--model", dir + "/gpt9.gguf"}, "unsupported architecture 'gpt9'");
}

TEST(CliErrors, BadFlags) {
  expect_input_error({"generate", "--model", model(), "--max-tokens", "many"}, "--max-tokens");
  expect_input_error({"generate", "--model", model(), "--top-p", "1.5"}, "--top-p");
  expect_input_error({"generate", "--model", model(), "--no-such-flag"}, "--no-such-flag");
  expect_input_error({"frobnicate"}, "frobnicate");
  expect_input_error({"perplexity", "--model", model()}, "--data");
}

TEST(CliErrors, BadTrainingRequests) {
  std::string dir = temp_dir("badtrain");
  auto train = [&](std::vector<std::string> extra) {
    std::vector<std::string> a{"train", "--model", model(), "--data", shakespeare(), "--out", dir + "/o",
                               "--steps", "1", "--eval-windows", "1"};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  };
  const std::vector<std::string> small{"--batch-size", "1", "--seq-len", "16"};
  auto with = [&](std::vector<std::string> v) {
    v.insert(v.end(), small.begin(), small.end());
    return train(v);
  };
  expect_input_error(with({"--method", "dora"}), "unknown method 'dora'");
  expect_input_error(with({"--method", "lora", "--target-regex", "blk\\.9\\..*"}), "match");
  expect_input_error(with({"--method", "lora", "--rank", "0"}), "rank");
  expect_input_error(with({"--method", "lora", "--rank", "100000"}), "rank");
  expect_input_error(with({"--method", "delta-lora", "--dropout", "0.1"}), "dropout");
  write_file(dir + "/empty.txt", "");
  expect_input_error({"train", "--model", model(), "--data", dir + "/empty.txt", "--out", dir + "/o"}, "empty");
  // A sequence longer than the context is cut to it, with a warning.
  auto r = run_cli(train({"--method", "lora", "--seq-len", "4096", "--batch-size", "1"}));
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.err.find("warning: --seq-len 4096"), std::string::npos) << r.err;
}

TEST(CliErrors, BadAdapterFiles) {
  std::string out = temp_dir("badadapter");
  auto r = run_cli({"train", "--model", model(), "--data", shakespeare(), "--method", "lora", "--targets", "q,v",
                    "--steps", "1", "--batch-size", "1", "--seq-len", "16", "--eval-windows", "1", "--out", out});
  ASSERT_EQ(r.rc, 0) << r.err;
  // Missing tensor: drop the adapter_model.safetensors entirely, then a
  // config whose rank disagrees with the stored shapes.
  std::string cfg = read_file(out + "/adapter_config.json");
  std::string st = read_file(out + "/adapter_model.safetensors");
  std::filesystem::remove(out + "/adapter_model.safetensors");
  expect_input_error({"perplexity", "--model", model(), "--data", shakespeare(), "--max-tokens", "10", "--adapter", out},
                     "adapter_model.safetensors");
  write_file(out + "/adapter_model.safetensors", st);
  std::string bad = cfg;
  size_t at = bad.find("\"r\": 8");
  ASSERT_NE(at, std::string::npos) << cfg;
  bad.replace(at, 6, "\"r\": 5");
  write_file(out + "/adapter_config.json", bad);
  expect_input_error({"perplexity", "--model", model(), "--data", shakespeare(), "--max-tokens", "10", "--adapter", out},
                     "shape");
}
