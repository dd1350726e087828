// Tier 2: the real stories260K model against ../shared/golden/stories260K.md,
// read from that file (greedy text in its fenced block, NLLs in its table).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>

#include "test_util.h"

using peft::test::read_file;
using peft::test::run_cli;
using peft::test::shared_path;

namespace {

std::string golden_md() { return read_file(shared_path("golden/stories260K.md")); }

std::string golden_greedy_text() {
  std::string md = golden_md();
  size_t h = md.find("## Greedy generation");
  size_t a = md.find("```\n", h);
  size_t b = md.find("\n```", a + 4);
  EXPECT_NE(h, std::string::npos);
  return md.substr(a + 4, b - (a + 4));
}

// The mean NLL in the table row whose first cell contains `key`.
double golden_nll(const std::string& key) {
  std::string md = golden_md();
  std::istringstream in(md);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("|", 0) == 0 && line.find(key) != std::string::npos) {
      std::smatch m;
      std::regex cell(R"(\|\s*([0-9]+\.[0-9]+)\s*\|\s*[0-9]+\.[0-9]+\s*\|\s*$)");
      if (std::regex_search(line, m, cell)) return std::stod(m[1]);
    }
  }
  ADD_FAILURE() << "no NLL row for " << key;
  return 0;
}

}  // namespace

// With the exact f32 KV cache, and with the default bf16 one.
TEST(Golden, GreedyGenerationFromBosIsThePublishedText) {
  for (const char* kv : {"f32", "bf16"}) {
    SCOPED_TRACE(std::string("--kv-dtype ") + kv);
    auto r = run_cli({"generate", "--model", shared_path("models/stories260K.gguf"), "--temperature", "0",
                      "--max-tokens", "256", "--kv-dtype", kv});
    ASSERT_EQ(r.rc, 0) << r.err;
    std::string expect = golden_greedy_text();
    ASSERT_GT(expect.size(), 100u);
    // stdout carries exactly the continuation.
    EXPECT_EQ(r.out, expect);
  }
}

TEST(Golden, StorySampleNll) {
  auto r = run_cli({"perplexity", "--model", shared_path("models/stories260K.gguf"), "--data",
                    shared_path("golden/story_sample.txt"), "--max-tokens", "200", "--json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["tokens"].get<int>(), 164);
  EXPECT_NEAR(j["mean_nll"].get<double>(), golden_nll("story_sample"), 1e-3);
}

TEST(Golden, ShakespeareNll) {
  std::string text = read_file(shared_path("data/tinyshakespeare/input.txt")).substr(0, 1200);
  std::string dir = peft::test::temp_dir("golden");
  peft::test::write_file(dir + "/head.txt", text);
  auto r = run_cli({"perplexity", "--model", shared_path("models/stories260K.gguf"), "--data", dir + "/head.txt",
                    "--max-tokens", "200", "--json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["tokens"].get<int>(), 200);
  EXPECT_NEAR(j["mean_nll"].get<double>(), golden_nll("tinyshakespeare"), 1e-3);
}
