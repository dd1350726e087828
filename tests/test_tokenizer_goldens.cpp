// GGUF tokenizers against the HF transformers goldens on 83 multilingual
// texts (hf/goldens-multilingual, made with add_special_tokens=True):
// TinyLlama shares the Llama-2 SentencePiece vocabulary of
// ggml-vocab-llama-spm, GPT-2 that of ggml-vocab-gpt-2, and
// bge-small-en-v1.5 that of ggml-vocab-bert-bge.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>

#include "test_util.h"
#include "tokenizer/load.h"

using namespace peft;
using peft::test::read_file;
using peft::test::shared_path;

namespace {

std::string stream(const Tokenizer& tok, const std::vector<int32_t>& ids) {
  StreamDecoder sd(tok);
  std::string out;
  for (int32_t id : ids) out += sd.push(id);
  return out + sd.flush();
}

// Ids of encode(text, true); decode with and without special tokens; the
// streamed text.
void check_goldens(const std::string& vocab, const std::string& golden) {
  auto tok = load_tokenizer(shared_path("tokenizers/llama.cpp-vocab/" + vocab));
  auto inputs = nlohmann::json::parse(read_file(shared_path("hf/goldens-multilingual/inputs.json")));
  std::map<std::string, std::string> text_of;
  for (const auto& e : inputs) text_of[e.at("id").get<std::string>()] = e.at("text").get<std::string>();
  auto g = nlohmann::json::parse(read_file(shared_path("hf/goldens-multilingual/" + golden)));
  const auto& entries = g.at("entries");
  ASSERT_EQ(entries.size(), 83u);
  int matched = 0, decoded = 0;
  for (const auto& e : entries) {
    const std::string& id = e.at("id").get_ref<const std::string&>();
    ASSERT_TRUE(text_of.count(id)) << id;
    const std::string& text = text_of[id];
    std::vector<int32_t> want = e.at("input_ids").get<std::vector<int32_t>>();
    std::vector<int32_t> got = tok->encode(text, true);
    if (got == want) {
      ++matched;
    } else {
      std::string w, o;
      for (int32_t i : want) w += " " + std::to_string(i);
      for (int32_t i : got) o += " " + std::to_string(i);
      ADD_FAILURE() << golden << " " << id << "\n want" << w << "\n got " << o;
    }
    const std::string& skip = e.at("decoded_skip_special").get_ref<const std::string&>();
    EXPECT_EQ(tok->decode(want), skip) << id;
    EXPECT_EQ(stream(*tok, want), skip) << id;
    EXPECT_EQ(tok->decode(want, false), e.at("decoded_with_special").get<std::string>()) << id;
    decoded += tok->decode(want) == skip;
  }
  EXPECT_EQ(matched, 83);
  EXPECT_EQ(decoded, 83);
}

}  // namespace

TEST(TokenizerGoldens, LlamaSpmMatchesTinyLlama) { check_goldens("ggml-vocab-llama-spm.gguf", "tinyllama_multilingual.json"); }

TEST(TokenizerGoldens, Gpt2MatchesGpt2) { check_goldens("ggml-vocab-gpt-2.gguf", "gpt2_multilingual.json"); }

TEST(TokenizerGoldens, BertMatchesBgeSmall) {
  check_goldens("ggml-vocab-bert-bge.gguf", "bge_small_multilingual.json");
}
