// `peft tokenize` / `peft detokenize` with a tokenizer.json or a model
// directory, through the built binary. Expected ids are Hugging Face's for
// these texts (the same ids the multilingual goldens hold for "Hello").
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

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

// The expected values of these come from Hugging Face tokenizers (the
// goldens of test_tokenizer_encoding, made by bench/make_encoding_goldens.mjs).
nlohmann::json golden_case(const std::string& file, const std::string& name) {
  const auto doc = nlohmann::json::parse(test::read_file(std::string(PEFT_SOURCE_DIR) +
                                                         "/tests/data/encoding_goldens/" + file + ".json"));
  for (const auto& c : doc.at("cases"))
    if (c.at("name") == name) return c;
  ADD_FAILURE() << "no golden case " << name;
  return {};
}

TEST(TokenizeHfCli, PairJsonWithOffsetsMatchesHf) {
  const auto c = golden_case("bge-small-en-v1.5", "pair_unicode");
  auto r = run_cli({"tokenize", "--tokenizer", shared_path("hf/bge-small-en-v1.5"), "--text", c["text"],
                    "--pair", c["pair"], "--json", "--offsets"});
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  const auto& want = c["expected"];
  EXPECT_EQ(j["ids"], want["ids"]);
  EXPECT_EQ(j["type_ids"], want["type_ids"]);
  EXPECT_EQ(j["attention_mask"], want["attention_mask"]);
  EXPECT_EQ(j["special_tokens_mask"], want["special_tokens_mask"]);
  EXPECT_EQ(j["offsets"], want["byte_offsets"]);
  r = run_cli({"tokenize", "--tokenizer", shared_path("hf/bge-small-en-v1.5"), "--text", c["text"], "--pair",
               c["pair"], "--json", "--char-offsets"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["offsets"], want["offsets"]);
}

TEST(TokenizeHfCli, TruncationAndPaddingFlagsMatchHf) {
  // max_length 8, longest_first; pad to 10.
  const auto c = golden_case("gpt2", "trunc_and_pad");
  auto r = run_cli({"tokenize", "--tokenizer", shared_path("hf/gpt2"), "--text", c["text"], "--pair", c["pair"],
                    "--max-length", "8", "--truncation", "longest_first", "--padding", "10", "--json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["ids"], c["expected"]["ids"]);
  EXPECT_EQ(j["attention_mask"], c["expected"]["attention_mask"]);
  // only_second from the left, no padding.
  const auto c2 = golden_case("llama-2", "trunc_only_second_left");
  r = run_cli({"tokenize", "--tokenizer", shared_path("hf/llama-2"), "--text", c2["text"], "--pair", c2["pair"],
               "--max-length", "10", "--truncation", "only_second", "--truncation-side", "left", "--json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["ids"], c2["expected"]["ids"]);
  EXPECT_EQ(j["type_ids"], c2["expected"]["type_ids"]);
  // Left padding to a multiple, with a pad id.
  const auto c3 = golden_case("bge-small-en-v1.5", "pad_multiple");
  r = run_cli({"tokenize", "--tokenizer", shared_path("hf/bge-small-en-v1.5"), "--text", c3["text"], "--padding",
               "longest", "--pad-to-multiple-of", "8", "--json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["ids"], c3["expected"]["ids"]);
}

TEST(TokenizeHfCli, FileTruncationAndPaddingApplyUnlessTurnedOff) {
  const std::string minilm = shared_path("hf/all-MiniLM-L6-v2-st-legacy/0_Transformer");
  const auto c = golden_case("all-MiniLM-L6-v2", "file_config_short");
  auto r = run_cli({"tokenize", "--tokenizer", minilm, "--text", c["text"], "--json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["ids"], c["expected"]["ids"]);  // padded to the file's 128
  EXPECT_EQ(j["ids"].size(), 128u);
  // Without the padding: the tokens HF's mask marks as real.
  std::vector<int> real;
  for (size_t i = 0; i < c["expected"]["ids"].size(); ++i)
    if (c["expected"]["attention_mask"][i] == 1) real.push_back(c["expected"]["ids"][i].get<int>());
  ASSERT_GE(real.size(), 5u);
  r = run_cli({"tokenize", "--tokenizer", minilm, "--text", c["text"], "--padding", "none", "--json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["ids"], nlohmann::json(real));
  // --max-length overrides the file's 128 and padding max_length follows it:
  // [CLS], the first two tokens, [SEP].
  r = run_cli({"tokenize", "--tokenizer", minilm, "--text", c["text"], "--max-length", "4", "--padding", "max_length", "--json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["ids"], nlohmann::json({real[0], real[1], real[2], real.back()}));
}

TEST(TokenizeHfCli, OffsetsTable) {
  const auto c = golden_case("bge-small-en-v1.5", "plain");
  auto r = run_cli({"tokenize", "--tokenizer", shared_path("hf/bge-small-en-v1.5"), "--text", c["text"], "--offsets"});
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto& w = c["expected"];
  std::string want;
  for (size_t i = 0; i < w["ids"].size(); ++i) {
    want += std::to_string(w["ids"][i].get<int>()) + "\t" + std::to_string(w["type_ids"][i].get<int>()) + "\t" +
            std::to_string(w["attention_mask"][i].get<int>()) + "\t" +
            std::to_string(w["byte_offsets"][i][0].get<int>()) + "\t" +
            std::to_string(w["byte_offsets"][i][1].get<int>()) + "\t" + w["tokens"][i].get<std::string>() + "\n";
  }
  EXPECT_EQ(r.out, want);
}

TEST(TokenizeHfCli, EncodeSpecialTokensFlag) {
  const auto c = golden_case("gpt2", "encode_special_tokens");
  auto r = run_cli({"tokenize", "--tokenizer", shared_path("hf/gpt2"), "--text", c["text"], "--encode-special-tokens", "--json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["ids"], c["expected"]["ids"]);
}

TEST(TokenizeHfCli, BadEncodingFlagsExitTwoWithOneLine) {
  const std::string bge = shared_path("hf/bge-small-en-v1.5");
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--truncation", "middle", "--max-length", "8"}, "unknown truncation strategy 'middle'"},
      {{"--max-length", "abc"}, "max length 'abc' is not a token count"},
      {{"--max-length", "-3"}, "max length '-3' is not a token count"},
      {{"--truncation", "only_first"}, "truncation needs a max length"},
      {{"--max-length", "8", "--truncation-side", "up"}, "unknown direction 'up'"},
      {{"--padding", "lots"}, "padding 'lots' is none of"},
      {{"--padding", "max_length"}, "padding max_length needs a max length"},
      {{"--padding-side", "left"}, "padding settings need a padding strategy"},
      {{"--padding", "8", "--pad-id", "99999999"}, "pad id 99999999 is outside the vocabulary"},
      {{"--max-length", "1"}, "max_length 1 leaves no room for the 2 special tokens"},
      {{"--max-length", "4", "--truncation", "only_second"}, "truncation only_second needs a pair of texts"},
      {{"--max-length", "4", "--stride", "3"}, "stride 3 is larger than the 2 tokens"},
      {{"--truncation", "none", "--max-length", "4"}, "truncation none cannot take"},
  };
  for (const auto& [flags, msg] : cases) {
    std::vector<std::string> args = {"tokenize", "--tokenizer", bge, "--text", "some longer text here"};
    args.insert(args.end(), flags.begin(), flags.end());
    auto r = run_cli(args);
    EXPECT_EQ(r.rc, 2) << msg;
    EXPECT_EQ(r.err.rfind("error: [tokenizer] ", 0), 0u) << r.err;
    EXPECT_NE(r.err.find(msg), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
  }
  // GGUF vocabularies carry no offsets yet: refused, not printed as zeros.
  auto r = run_cli({"tokenize", "--tokenizer", shared_path("models/stories260K.gguf"), "--text", "a", "--offsets"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("error: [tokenizer] offsets are only available"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace peft
