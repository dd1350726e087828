// Vocabularies between GGUF and tokenizer.json, both ways, checked on
// llama.cpp's 46 golden texts for the Llama-2 (SentencePiece) and GPT-2
// (byte-level BPE) vocabularies.
#include <gtest/gtest.h>

#include <sstream>

#include "core/error.h"
#include "io/gguf.h"
#include "test_util.h"
#include "tokenizer/hf/hf_tokenizer.h"
#include "tokenizer/load.h"
#include "tokenizer/vocab_convert.h"

using namespace peft;
using peft::test::read_file;
using peft::test::shared_path;
using peft::test::temp_dir;
using peft::test::write_file;

namespace {

const char* kStem = "tokenizers/llama.cpp-vocab/ggml-vocab-llama-spm.gguf";

struct Case {
  std::string text;
  std::vector<int32_t> ids;
};

// .inp: texts each followed by "\n__ggml_vocab_test__\n"; .out: one line of
// ids per text.
std::vector<Case> golden_cases(const std::string& stem = kStem) {
  std::string inp = read_file(shared_path(stem + ".inp"));
  std::istringstream out(read_file(shared_path(stem + ".out")));
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<Case> cases;
  for (size_t pos = 0;;) {
    size_t hit = inp.find(sep, pos);
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

int count_matches(const Tokenizer& tok, const std::vector<Case>& cases) {
  int matched = 0;
  for (const Case& c : cases) {
    if (tok.encode(c.text, false) == c.ids)
      ++matched;
    else
      ADD_FAILURE() << "text [" << c.text << "]";
  }
  return matched;
}

}  // namespace

TEST(VocabConvert, GgufVocabAsTokenizerJsonMatchesGoldens) {
  auto f = GgufFile::open(shared_path(kStem));
  HfTokenizerFiles files;
  std::string why;
  ASSERT_TRUE(gguf_vocab_to_tokenizer_json(*f, &files, &why)) << why;
  std::string dir = temp_dir("spm_to_json");
  write_file(dir + "/tokenizer.json", files.tokenizer_json);
  write_file(dir + "/tokenizer_config.json", files.tokenizer_config_json);
  auto tok = load_tokenizer(dir);
  auto ref = load_gguf_tokenizer(*f);
  EXPECT_EQ(tok->vocab_size(), ref->vocab_size());
  EXPECT_EQ(tok->bos_id(), ref->bos_id());
  EXPECT_EQ(tok->eos_id(), ref->eos_id());
  EXPECT_EQ(tok->adds_bos(), ref->adds_bos());
  std::vector<Case> cases = golden_cases();
  EXPECT_EQ(cases.size(), 46u);
  EXPECT_EQ(count_matches(*tok, cases), static_cast<int>(cases.size()));
  for (const Case& c : cases) EXPECT_EQ(tok->decode(c.ids), ref->decode(c.ids)) << c.text;
}

TEST(VocabConvert, TokenizerJsonAsGgufVocabMatchesGoldens) {
  // Llama-2's own tokenizer.json (transformers' converter), not one we wrote.
  std::string src = temp_dir("json_to_spm");
  write_file(src + "/tokenizer.json", read_file(shared_path("hf/llama-2/tokenizer.json")));
  write_file(src + "/tokenizer_config.json", read_file(shared_path("hf/llama-2/tokenizer_config.json")));
  std::vector<std::pair<std::string, GgufValue>> keys;
  std::string why;
  ASSERT_TRUE(tokenizer_json_to_gguf_vocab(src, &keys, &why)) << why;
  GgufWriter w;
  w.set("general.architecture", GgufValue::string("llama"));
  for (const auto& [k, v] : keys) w.set(k, v);
  std::string path = temp_dir("json_to_spm_out") + "/vocab.gguf";
  w.write(path);
  auto f = GgufFile::open(path);
  auto ref = GgufFile::open(shared_path(kStem));
  EXPECT_EQ(f->get_string_array("tokenizer.ggml.tokens"), ref->get_string_array("tokenizer.ggml.tokens"));
  EXPECT_EQ(f->get_int("tokenizer.ggml.bos_token_id"), 1);
  EXPECT_EQ(f->get_int("tokenizer.ggml.eos_token_id"), 2);
  EXPECT_EQ(f->get_int("tokenizer.ggml.unknown_token_id"), 0);
  EXPECT_TRUE(f->get_bool("tokenizer.ggml.add_bos_token"));
  EXPECT_TRUE(f->get_bool("tokenizer.ggml.add_space_prefix"));
  // Token types agree with llama.cpp's conversion of the same vocabulary.
  EXPECT_EQ(f->get_int_array("tokenizer.ggml.token_type"), ref->get_int_array("tokenizer.ggml.token_type"));
  auto tok = load_gguf_tokenizer(*f);
  std::vector<Case> cases = golden_cases();
  EXPECT_EQ(count_matches(*tok, cases), static_cast<int>(cases.size()));
}

TEST(VocabConvert, UnsupportedTokenizersAreReportedNotThrown) {
  // WordPiece (BERT) is neither kind.
  std::string bert = temp_dir("json_bert");
  write_file(bert + "/tokenizer.json", read_file(shared_path("hf/bge-small-en-v1.5/tokenizer.json")));
  std::vector<std::pair<std::string, GgufValue>> keys;
  std::string why;
  EXPECT_FALSE(tokenizer_json_to_gguf_vocab(bert, &keys, &why));
  EXPECT_NE(why.find("SentencePiece"), std::string::npos) << why;
  EXPECT_FALSE(tokenizer_json_to_gguf_vocab(temp_dir("json_none"), &keys, &why));
  EXPECT_NE(why.find("tokenizer.json"), std::string::npos) << why;

  auto f = GgufFile::open(shared_path("tokenizers/llama.cpp-vocab/ggml-vocab-bert-bge.gguf"));
  HfTokenizerFiles files;
  EXPECT_FALSE(gguf_vocab_to_tokenizer_json(*f, &files, &why));
  EXPECT_NE(why.find("bert"), std::string::npos) << why;

  std::string broken = temp_dir("json_broken");
  write_file(broken + "/tokenizer.json", "{\"model\": ");
  try {
    tokenizer_json_to_gguf_vocab(broken, &keys, &why);
    ADD_FAILURE() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(broken + "/tokenizer.json"), std::string::npos) << e.what();
  }
}

TEST(VocabConvert, Gpt2GgufVocabAsTokenizerJsonMatchesGoldens) {
  const std::string stem = "tokenizers/llama.cpp-vocab/ggml-vocab-gpt-2.gguf";
  auto f = GgufFile::open(shared_path(stem));
  HfTokenizerFiles files;
  std::string why;
  ASSERT_TRUE(gguf_vocab_to_tokenizer_json(*f, &files, &why)) << why;
  std::string dir = temp_dir("gpt2_to_json");
  write_file(dir + "/tokenizer.json", files.tokenizer_json);
  write_file(dir + "/tokenizer_config.json", files.tokenizer_config_json);
  auto tok = load_tokenizer(dir);
  auto ref = load_gguf_tokenizer(*f);
  EXPECT_EQ(tok->vocab_size(), ref->vocab_size());
  EXPECT_EQ(tok->eos_id(), ref->eos_id());
  EXPECT_EQ(tok->adds_bos(), ref->adds_bos());
  std::vector<Case> cases = golden_cases(stem);
  EXPECT_EQ(cases.size(), 46u);
  EXPECT_EQ(count_matches(*tok, cases), static_cast<int>(cases.size()));
  for (const Case& c : cases) EXPECT_EQ(tok->decode(c.ids), ref->decode(c.ids)) << c.text;
}

TEST(VocabConvert, Gpt2TokenizerJsonAsGgufVocabMatchesGoldens) {
  const std::string stem = "tokenizers/llama.cpp-vocab/ggml-vocab-gpt-2.gguf";
  std::string src = temp_dir("gpt2_json_to_gguf");
  write_file(src + "/tokenizer.json", read_file(shared_path("hf/gpt2/tokenizer.json")));
  write_file(src + "/tokenizer_config.json", read_file(shared_path("hf/gpt2/tokenizer_config.json")));
  std::vector<std::pair<std::string, GgufValue>> keys;
  std::string why;
  ASSERT_TRUE(tokenizer_json_to_gguf_vocab(src, &keys, &why)) << why;
  GgufWriter w;
  w.set("general.architecture", GgufValue::string("gpt2"));
  for (const auto& [k, v] : keys) w.set(k, v);
  std::string path = temp_dir("gpt2_json_to_gguf_out") + "/vocab.gguf";
  w.write(path);
  auto f = GgufFile::open(path);
  auto ref = GgufFile::open(shared_path(stem));
  EXPECT_EQ(f->get_string("tokenizer.ggml.model"), "gpt2");
  EXPECT_EQ(f->get_string_array("tokenizer.ggml.tokens"), ref->get_string_array("tokenizer.ggml.tokens"));
  EXPECT_EQ(f->get_string_array("tokenizer.ggml.merges"), ref->get_string_array("tokenizer.ggml.merges"));
  EXPECT_EQ(f->get_int_array("tokenizer.ggml.token_type"), ref->get_int_array("tokenizer.ggml.token_type"));
  EXPECT_EQ(f->get_int("tokenizer.ggml.eos_token_id"), ref->get_int("tokenizer.ggml.eos_token_id"));
  auto tok = load_gguf_tokenizer(*f);
  EXPECT_EQ(count_matches(*tok, golden_cases(stem)), 46);
  EXPECT_FALSE(f->has("tokenizer.chat_template"));

  // A chat_template.jinja beside tokenizer.json becomes the GGUF template.
  write_file(src + "/chat_template.jinja", "{% for m in messages %}{{ m.content }}{% endfor %}");
  ASSERT_TRUE(tokenizer_json_to_gguf_vocab(src, &keys, &why)) << why;
  bool found = false;
  for (const auto& [k, v] : keys)
    if (k == "tokenizer.chat_template") {
      found = true;
      EXPECT_EQ(v.as_string(), "{% for m in messages %}{{ m.content }}{% endfor %}");
    }
  EXPECT_TRUE(found);
}
