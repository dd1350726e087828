// The tokenizer.json pipeline against real files and the ids Hugging Face
// produced for them: llama.cpp's tokenizer goldens (made with transformers,
// add_special_tokens=False, see llama.cpp's tests/test-tokenizer-0.py) and
// the multilingual goldens (ids with special tokens, and both decodes).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "core/error.h"
#include "test_util.h"
#include "tokenizer/hf/hf_tokenizer.h"
#include "tokenizer/load.h"

namespace peft {
namespace {

using test::read_file;
using test::shared_path;

struct Case {
  std::string text;
  std::vector<int32_t> ids;
};

// .inp: strings each followed by "\n__ggml_vocab_test__\n"; .out: one line
// of space-separated ids per string.
std::vector<Case> read_llama_cpp_cases(const std::string& base) {
  const std::string inp = read_file(base + ".inp");
  const std::string out = read_file(base + ".out");
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<Case> cases;
  size_t pos = 0;
  while (pos < inp.size()) {
    const size_t hit = inp.find(sep, pos);
    if (hit == std::string::npos) break;
    cases.push_back({inp.substr(pos, hit - pos), {}});
    pos = hit + sep.size();
  }
  std::istringstream lines(out);
  std::string line;
  size_t k = 0;
  while (std::getline(lines, line) && k < cases.size()) {
    std::istringstream ids(line);
    int32_t id;
    while (ids >> id) cases[k].ids.push_back(id);
    ++k;
  }
  EXPECT_EQ(k, cases.size()) << base;
  return cases;
}

std::string show(const std::vector<int32_t>& ids) {
  std::string s;
  for (int32_t id : ids) s += " " + std::to_string(id);
  return s;
}

void check_llama_cpp_goldens(const std::string& tokenizer_json, const std::string& vocab_base) {
  auto tok = load_hf_tokenizer(shared_path(tokenizer_json));
  const auto cases = read_llama_cpp_cases(shared_path(vocab_base));
  ASSERT_EQ(cases.size(), 46u);
  size_t pass = 0;
  for (const Case& c : cases) {
    const auto ids = tok->encode(c.text, false);
    if (ids == c.ids) {
      ++pass;
    } else {
      ADD_FAILURE() << "text '" << c.text << "'\n expected" << show(c.ids) << "\n      got" << show(ids);
    }
  }
  EXPECT_EQ(pass, cases.size());
}

// All 46 strings of each set agree between llama.cpp's goldens and HF's
// tokenizer.json pipeline; no exceptions need listing.
TEST(TokenizerHf, LlamaCppGoldensLlama2) {
  check_llama_cpp_goldens("hf/llama-2/tokenizer.json", "tokenizers/llama.cpp-vocab/ggml-vocab-llama-spm.gguf");
}

TEST(TokenizerHf, LlamaCppGoldensGpt2) {
  check_llama_cpp_goldens("hf/gpt2/tokenizer.json", "tokenizers/llama.cpp-vocab/ggml-vocab-gpt-2.gguf");
}

TEST(TokenizerHf, LlamaCppGoldensBge) {
  check_llama_cpp_goldens("hf/bge-small-en-v1.5/tokenizer.json", "tokenizers/llama.cpp-vocab/ggml-vocab-bert-bge.gguf");
}

// goldens-multilingual/<golden>: {"entries": [{"id", "input_ids", "tokens",
// "decoded_with_special", "decoded_skip_special"}]} for the strings of
// inputs.json ([{"id", "text"}]), made by transformers with its defaults
// (special tokens added).
void check_multilingual(const std::string& tokenizer_json, const std::string& golden) {
  auto tok = load_hf_tokenizer(shared_path(tokenizer_json));
  const auto inputs = nlohmann::json::parse(read_file(shared_path("hf/goldens-multilingual/inputs.json")));
  const auto gold = nlohmann::json::parse(read_file(shared_path("hf/goldens-multilingual/" + golden)));
  std::map<std::string, std::string> text_of;
  for (const auto& in : inputs) text_of[in.at("id").get<std::string>()] = in.at("text").get<std::string>();
  const auto& entries = gold.at("entries");
  ASSERT_EQ(entries.size(), 83u);
  size_t ids_ok = 0, decodes = 0, decodes_ok = 0;
  for (const auto& e : entries) {
    const std::string id = e.at("id").get<std::string>();
    ASSERT_TRUE(text_of.count(id)) << id;
    const std::string& text = text_of[id];
    const auto want = e.at("input_ids").get<std::vector<int32_t>>();
    const auto got = tok->encode(text, true);
    if (got == want) {
      ++ids_ok;
    } else {
      ADD_FAILURE() << golden << " " << id << " '" << text << "'\n expected" << show(want) << "\n      got" << show(got);
    }
    for (const auto& [key, skip] : {std::pair<const char*, bool>{"decoded_with_special", false},
                                    std::pair<const char*, bool>{"decoded_skip_special", true}}) {
      if (!e.contains(key) || !e.at(key).is_string()) continue;
      ++decodes;
      const std::string d = tok->decode(want, skip);
      if (d == e.at(key).get<std::string>()) {
        ++decodes_ok;
      } else {
        ADD_FAILURE() << golden << " " << id << " " << key << "\n expected '" << e.at(key).get<std::string>()
                      << "'\n      got '" << d << "'";
      }
    }
  }
  EXPECT_EQ(ids_ok, 83u);
  EXPECT_GT(decodes, 0u);
  EXPECT_EQ(decodes_ok, decodes);
}

TEST(TokenizerHf, MultilingualGpt2) { check_multilingual("hf/gpt2/tokenizer.json", "gpt2_multilingual.json"); }
TEST(TokenizerHf, MultilingualBge) {
  check_multilingual("hf/bge-small-en-v1.5/tokenizer.json", "bge_small_multilingual.json");
}
TEST(TokenizerHf, MultilingualTinyLlama) {
  check_multilingual("hf/llama-2/tokenizer.json", "tinyllama_multilingual.json");
}

TEST(TokenizerHf, LoadTokenizerRoutesJsonAndDirectories) {
  // load_tokenizer takes a tokenizer.json or a directory holding one.
  auto from_dir = load_tokenizer(shared_path("hf/llama-2"));
  auto from_file = load_tokenizer(shared_path("hf/llama-2/tokenizer.json"));
  EXPECT_EQ(from_dir->encode("Hello world", true), (std::vector<int32_t>{1, 15043, 3186}));
  EXPECT_EQ(from_file->encode("Hello world", true), from_dir->encode("Hello world", true));
  EXPECT_TRUE(from_dir->adds_bos());
  EXPECT_EQ(from_dir->bos_id(), 1);
  EXPECT_EQ(from_dir->eos_id(), 2);  // from tokenizer_config.json beside it
  EXPECT_EQ(from_dir->vocab_size(), 32000);
  EXPECT_TRUE(from_dir->is_special(1));
  EXPECT_FALSE(from_dir->is_special(15043));
  EXPECT_EQ(from_dir->token_text(15043), "\xE2\x96\x81Hello");
  auto gpt2 = load_tokenizer(shared_path("hf/gpt2"));
  EXPECT_FALSE(gpt2->adds_bos());
  EXPECT_EQ(gpt2->eos_id(), 50256);
  EXPECT_EQ(gpt2->vocab_size(), 50257);
  auto bge = load_tokenizer(shared_path("hf/bge-small-en-v1.5"));
  EXPECT_EQ(bge->bos_id(), 101);  // no tokenizer_config.json: taken from the post-processor
  EXPECT_EQ(bge->eos_id(), 102);
}

TEST(TokenizerHf, LlamaConfigFlagsRebuildSpecials) {
  // As transformers' LlamaTokenizerFast does on load, tokenizer_config.json's
  // add_bos_token / add_eos_token decide what encode adds.
  const std::string json = test::read_file(shared_path("hf/llama-2/tokenizer.json"));
  auto with_config = [&](const std::string& config) {
    const std::string dir = test::temp_dir("hfcfg");
    test::write_file(dir + "/tokenizer.json", json);
    test::write_file(dir + "/tokenizer_config.json", config);
    return load_tokenizer(dir);
  };
  using Ids = std::vector<int32_t>;
  auto both = with_config(R"({"tokenizer_class": "LlamaTokenizer", "add_bos_token": true, "add_eos_token": true,
                             "bos_token": "<s>", "eos_token": "</s>"})");
  EXPECT_EQ(both->encode("Hello world", true), (Ids{1, 15043, 3186, 2}));
  EXPECT_EQ(both->encode("Hello world", false), (Ids{15043, 3186}));
  auto none = with_config(R"({"tokenizer_class": "LlamaTokenizerFast", "add_bos_token": false, "eos_token": "</s>"})");
  EXPECT_EQ(none->encode("Hello world", true), (Ids{15043, 3186}));
  EXPECT_FALSE(none->adds_bos());
  // Other classes keep the file's post-processor.
  auto other = with_config(R"({"tokenizer_class": "PreTrainedTokenizerFast", "add_eos_token": true})");
  EXPECT_EQ(other->encode("Hello world", true), (Ids{1, 15043, 3186}));
}

TEST(TokenizerHf, ConcurrentEncodeMatchesSerial) {
  // encode is const and shared across data-loader threads; the BPE word
  // cache is the only mutable state.
  auto tok = load_hf_tokenizer(shared_path("hf/gpt2/tokenizer.json"));
  const auto inputs = nlohmann::json::parse(read_file(shared_path("hf/goldens-multilingual/inputs.json")));
  std::vector<std::string> texts;
  for (const auto& in : inputs) texts.push_back(in.at("text").get<std::string>());
  std::vector<std::vector<int32_t>> serial;
  for (const auto& t : texts) serial.push_back(tok->encode(t, true));
  std::vector<int> bad(4, 0);
  std::vector<std::thread> threads;
  for (int w = 0; w < 4; ++w) {
    threads.emplace_back([&, w] {
      for (int rep = 0; rep < 5; ++rep)
        for (size_t k = 0; k < texts.size(); ++k)
          if (tok->encode(texts[(k + w * 7) % texts.size()], true) != serial[(k + w * 7) % texts.size()]) ++bad[w];
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(bad, std::vector<int>(4, 0));
}

TEST(TokenizerHf, StreamDecoderOverByteFallback) {
  // "é" spelled by two byte tokens comes out whole, once.
  auto tok = load_hf_tokenizer(shared_path("hf/llama-2/tokenizer.json"));
  const auto ids = tok->encode("caf\xC3\xA9 \xF0\x9F\x99\x82!", false);
  StreamDecoder stream(*tok);
  std::string text;
  for (int32_t id : ids) text += stream.push(id);
  text += stream.flush();
  EXPECT_EQ(text, tok->decode(ids));
}

}  // namespace
}  // namespace peft
