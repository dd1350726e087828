// `peft tokenize` / `peft detokenize` against the library on a real model file.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "test_util.h"
#include "tokenizer/load.h"

using namespace peft;
using peft::test::run_cli;
using peft::test::shared_path;

namespace {

std::string join(const std::vector<int32_t>& ids) {
  std::string s;
  for (size_t i = 0; i < ids.size(); ++i) s += (i ? " " : "") + std::to_string(ids[i]);
  return s;
}

}  // namespace

TEST(TokenizeCli, PrintsTheLibrarysIds) {
  std::string model = shared_path("models/stories260K.gguf");
  auto tok = load_tokenizer(model);
  std::string text = "Once upon a time, Lily saw a \xE2\x9C\xA8 star.";
  auto r = run_cli({"tokenize", "--tokenizer", model, "--text", text});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, join(tok->encode(text, true)) + "\n");
  r = run_cli({"tokenize", "--tokenizer", model, "--text", text, "--no-special"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, join(tok->encode(text, false)) + "\n");
}

TEST(TokenizeCli, JsonAndFileInput) {
  std::string model = shared_path("models/stories260K.gguf");
  std::string sample = shared_path("golden/story_sample.txt");
  auto r = run_cli({"tokenize", "--tokenizer", model, "--file", sample, "--json", "--no-special"});
  ASSERT_EQ(r.rc, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["ids"].size(), 164u);
  ASSERT_EQ(j["tokens"].size(), 164u);
  EXPECT_EQ(j["tokens"][0].get<std::string>(), "\xE2\x96\x81Once");
}

TEST(TokenizeCli, DetokenizeRoundTrips) {
  std::string model = shared_path("models/stories260K.gguf");
  std::string text = "Tim said, \"Hi!\"\n\xE4\xBD\xA0\xE5\xA5\xBD";
  auto r = run_cli({"tokenize", "--tokenizer", model, "--text", text});
  ASSERT_EQ(r.rc, 0) << r.err;
  std::string ids = r.out.substr(0, r.out.size() - 1);
  r = run_cli({"detokenize", "--tokenizer", model, "--ids", ids});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, text);  // exactly, no newline added
}

TEST(TokenizeCli, BadInputExitsTwo) {
  std::string model = shared_path("models/stories260K.gguf");
  auto r = run_cli({"detokenize", "--tokenizer", model, "--ids", "1 abc"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("[detokenize]"), std::string::npos) << r.err;
  r = run_cli({"detokenize", "--tokenizer", model, "--ids", "99999"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("[tokenizer]"), std::string::npos) << r.err;
  r = run_cli({"tokenize", "--tokenizer", model});
  EXPECT_EQ(r.rc, 2);
  r = run_cli({"tokenize", "--tokenizer", peft::test::temp_dir("tokcli"), "--text", "a"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("[tokenizer]"), std::string::npos) << r.err;
}
