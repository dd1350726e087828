// `peft tokenize` / `peft detokenize` with a tokenizer.json or a model
// directory, through the built binary. Expected ids are Hugging Face's for
// these texts (the same ids the multilingual goldens hold for "Hello").
#include <gtest/gtest.h>

#include "test_util.h"

namespace peft {
namespace {

using test::run_cli;
using test::shared_path;

TEST(TokenizeHfCli, DirectoryAndFile) {
  auto r = run_cli({"tokenize", "--tokenizer", shared_path("hf/gpt2"), "--text", "Hello world"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "15496 995\n");
  r = run_cli({"tokenize", "--tokenizer", shared_path("hf/bge-small-en-v1.5/tokenizer.json"), "--text", "Hello world"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "101 7592 2088 102\n");
  r = run_cli({"tokenize", "--tokenizer", shared_path("hf/bge-small-en-v1.5"), "--text", "Hello world", "--no-special"});
  EXPECT_EQ(r.out, "7592 2088\n");
  r = run_cli({"tokenize", "--tokenizer", shared_path("hf/llama-2"), "--text", "Hello world"});
  EXPECT_EQ(r.out, "1 15043 3186\n");
}

TEST(TokenizeHfCli, Detokenize) {
  auto r = run_cli({"detokenize", "--tokenizer", shared_path("hf/llama-2"), "--ids", "1 15043 3186"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("Hello world"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("<s>"), std::string::npos) << r.out;
}

TEST(TokenizeHfCli, MalformedFileExitsTwoWithOneLine) {
  const std::string dir = test::temp_dir("hfcli");
  const std::string path = dir + "/tokenizer.json";
  test::write_file(path, R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b"]}})");
  auto r = run_cli({"tokenize", "--tokenizer", path, "--text", "a"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("[tokenizer] " + path + ": "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("merge 1"), std::string::npos) << r.err;
  // One line: the message and its newline.
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
  // A directory without tokenizer.json.
  r = run_cli({"tokenize", "--tokenizer", test::temp_dir("hfcli_empty"), "--text", "a"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("no tokenizer.json"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace peft
