// Tokenizers loaded from real GGUF files against llama.cpp's reference
// token ids (the ggml-vocab-*.gguf.inp/.out pairs, produced with the HF
// tokenizers, no special tokens added) and round trips on real text.
#include <gtest/gtest.h>

#include <sstream>

#include "core/error.h"
#include "io/gguf.h"
#include "test_util.h"
#include "tokenizer/load.h"
#include "tokenizer/tokenizer.h"

using namespace peft;
using peft::test::read_file;
using peft::test::shared_path;

namespace {

struct VocabCase {
  std::string text;
  std::vector<int32_t> ids;
};

// The .inp holds the texts separated by "\n__ggml_vocab_test__\n" (the file
// ends with one); the .out one line of space-separated ids per text.
std::vector<VocabCase> read_cases(const std::string& stem) {
  std::string inp = read_file(shared_path(stem + ".inp"));
  std::string out = read_file(shared_path(stem + ".out"));
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> texts;
  for (size_t pos = 0;;) {
    size_t hit = inp.find(sep, pos);
    if (hit == std::string::npos) break;
    texts.push_back(inp.substr(pos, hit - pos));
    pos = hit + sep.size();
  }
  std::vector<VocabCase> cases;
  std::istringstream lines(out);
  std::string line;
  for (const std::string& t : texts) {
    if (!std::getline(lines, line)) break;
    VocabCase c{t, {}};
    std::istringstream nums(line);
    int32_t id;
    while (nums >> id) c.ids.push_back(id);
    cases.push_back(std::move(c));
  }
  EXPECT_EQ(cases.size(), texts.size()) << stem << ": fewer .out lines than texts";
  return cases;
}

std::string ids_str(const std::vector<int32_t>& ids) {
  std::string s;
  for (int32_t i : ids) s += " " + std::to_string(i);
  return s;
}

void expect_vocab_file_matches(const std::string& name, size_t want_cases) {
  std::string stem = "tokenizers/llama.cpp-vocab/" + name;
  auto tok = load_tokenizer(shared_path(stem));
  std::vector<VocabCase> cases = read_cases(stem);
  EXPECT_EQ(cases.size(), want_cases);
  int matched = 0;
  for (const VocabCase& c : cases) {
    std::vector<int32_t> got = tok->encode(c.text, false);
    if (got == c.ids)
      ++matched;
    else
      ADD_FAILURE() << name << " text [" << c.text << "]\n want" << ids_str(c.ids) << "\n got " << ids_str(got);
  }
  EXPECT_EQ(matched, static_cast<int>(cases.size()));
}

std::string stream_decode(const Tokenizer& tok, const std::vector<int32_t>& ids) {
  StreamDecoder sd(tok);
  std::string out;
  for (int32_t id : ids) {
    std::string part = sd.push(id);
    // Every piece handed out is whole UTF-8 (the texts here are valid).
    for (size_t i = 0; i < part.size();) {
      unsigned char c = static_cast<unsigned char>(part[i]);
      size_t len = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
      EXPECT_LE(i + len, part.size()) << "partial character streamed";
      i += len;
    }
    out += part;
  }
  return out + sd.flush();
}

std::unique_ptr<Tokenizer> stories() { return load_tokenizer(shared_path("models/stories260K.gguf")); }

}  // namespace

TEST(TokenizerGguf, LlamaSpmMatchesReferenceIds) { expect_vocab_file_matches("ggml-vocab-llama-spm.gguf", 46); }

TEST(TokenizerGguf, Gpt2MatchesReferenceIds) { expect_vocab_file_matches("ggml-vocab-gpt-2.gguf", 46); }

TEST(TokenizerGguf, BertBgeMatchesReferenceIds) { expect_vocab_file_matches("ggml-vocab-bert-bge.gguf", 46); }

TEST(TokenizerGguf, Gpt2RoundTripsReferenceTexts) {
  auto tok = load_tokenizer(shared_path("tokenizers/llama.cpp-vocab/ggml-vocab-gpt-2.gguf"));
  EXPECT_EQ(tok->summary(), "byte-level BPE (pre-tokenizer gpt-2), 50257 tokens, bos 50256, eos 50256");
  EXPECT_FALSE(tok->adds_bos());
  for (const VocabCase& c : read_cases("tokenizers/llama.cpp-vocab/ggml-vocab-gpt-2.gguf")) {
    EXPECT_EQ(tok->decode(c.ids), c.text);
    EXPECT_EQ(stream_decode(*tok, c.ids), c.text);
  }
  // The end-of-text token written in the text is that token.
  std::vector<int32_t> ids = tok->encode("a<|endoftext|>", true);
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_EQ(ids[1], 50256);
}

TEST(TokenizerGguf, BertAddsClsSep) {
  auto tok = load_tokenizer(shared_path("tokenizers/llama.cpp-vocab/ggml-vocab-bert-bge.gguf"));
  std::vector<int32_t> ids = tok->encode("Hello, World!", true);
  ASSERT_GE(ids.size(), 2u);
  EXPECT_EQ(ids.front(), 101);
  EXPECT_EQ(ids.back(), 102);
  EXPECT_EQ(tok->decode(ids), "hello, world!");
}

TEST(TokenizerGguf, LlamaSpmRoundTripsReferenceTexts) {
  auto tok = load_tokenizer(shared_path("tokenizers/llama.cpp-vocab/ggml-vocab-llama-spm.gguf"));
  for (const VocabCase& c : read_cases("tokenizers/llama.cpp-vocab/ggml-vocab-llama-spm.gguf")) {
    EXPECT_EQ(tok->decode(c.ids), c.text);
    EXPECT_EQ(stream_decode(*tok, c.ids), c.text);
  }
}

TEST(TokenizerGguf, StoriesMetadata) {
  auto tok = stories();
  EXPECT_EQ(tok->vocab_size(), 512);
  EXPECT_EQ(tok->bos_id(), 1);
  EXPECT_EQ(tok->eos_id(), 2);
  EXPECT_TRUE(tok->adds_bos());
  EXPECT_EQ(tok->token_text(13), "<0x0A>");
  EXPECT_TRUE(tok->is_special(1));
  EXPECT_FALSE(tok->is_special(300));
  EXPECT_EQ(tok->summary(), "llama (SentencePiece BPE), 512 tokens, bos 1, eos 2");
}

TEST(TokenizerGguf, StoriesSampleRoundTrip) {
  auto tok = stories();
  std::string text = read_file(shared_path("golden/story_sample.txt"));
  std::vector<int32_t> ids = tok->encode(text, false);
  // The golden protocol's count, from an independent implementation.
  EXPECT_EQ(ids.size(), 164u);
  std::vector<int32_t> with_bos = tok->encode(text, true);
  ASSERT_EQ(with_bos.size(), ids.size() + 1);
  EXPECT_EQ(with_bos[0], 1);
  EXPECT_TRUE(std::equal(ids.begin(), ids.end(), with_bos.begin() + 1));
  EXPECT_EQ(tok->decode(ids), text);
  EXPECT_EQ(tok->decode(with_bos), text);
  EXPECT_EQ(stream_decode(*tok, with_bos), text);
  // "Once" opens the sample: one piece, with the SentencePiece space.
  EXPECT_EQ(tok->token_text(ids[0]), "\xE2\x96\x81Once");
}

TEST(TokenizerGguf, StoriesShakespeareRoundTrip) {
  auto tok = stories();
  std::string text = read_file(shared_path("data/tinyshakespeare/input.txt")).substr(0, 1200);
  std::vector<int32_t> ids = tok->encode(text, false);
  EXPECT_GE(ids.size(), 200u);
  EXPECT_EQ(tok->decode(ids), text);
  EXPECT_EQ(stream_decode(*tok, tok->encode(text, true)), text);
}

TEST(TokenizerGguf, StoriesByteFallback) {
  auto tok = stories();
  // Emoji, CJK and Cyrillic are not in a 512-piece vocabulary: byte tokens.
  std::string text = "Hi \xF0\x9F\x98\x80 \xE4\xBD\xA0\xE5\xA5\xBD \xD0\xBF\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82!\n";
  std::vector<int32_t> ids = tok->encode(text, true);
  int bytes = 0;
  for (int32_t id : ids) bytes += tok->token_text(id).rfind("<0x", 0) == 0;
  EXPECT_GE(bytes, 4 + 6 + 12 + 1);  // every byte of the three words, and '\n'
  EXPECT_EQ(tok->decode(ids), text);
  EXPECT_EQ(stream_decode(*tok, ids), text);
}

TEST(TokenizerGguf, LoadErrors) {
  std::string dir = peft::test::temp_dir("tok");
  EXPECT_THROW(load_tokenizer(dir + "/missing.gguf"), InputError);
  try {
    load_tokenizer(dir);
    ADD_FAILURE() << "directory accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("[tokenizer]"), std::string::npos);
  }
  peft::test::write_file(dir + "/junk.gguf", "GGUFjunk");
  EXPECT_THROW(load_tokenizer(dir + "/junk.gguf"), InputError);
  peft::test::write_file(dir + "/plain.bin", "hello");
  EXPECT_THROW(load_tokenizer(dir + "/plain.bin"), InputError);
  // A valid GGUF without a vocabulary.
  GgufWriter w;
  w.set("general.architecture", GgufValue::string("llama"));
  w.write(dir + "/empty.gguf");
  EXPECT_THROW(load_tokenizer(dir + "/empty.gguf"), InputError);
}
