// Pair encoding, truncation, padding, masks, type ids and offsets of the
// tokenizer.json pipeline against what Hugging Face's own tokenizers library
// gives for the same files and settings (tests/data/encoding_goldens, made
// by bench/make_encoding_goldens.mjs through the library's npm binding).
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "test_util.h"
#include "tokenizer/encoding.h"
#include "tokenizer/hf/hf_tokenizer.h"
#include "tokenizer/load.h"

namespace peft {
namespace {

using nlohmann::json;
using test::read_file;
using test::shared_path;

std::string golden_path(const std::string& name) {
  return std::string(PEFT_SOURCE_DIR) + "/tests/data/encoding_goldens/" + name + ".json";
}

Truncation truncation_of(const json& j) {
  Truncation t;
  t.max_length = j.at("max_length").get<size_t>();
  t.strategy = parse_truncation_strategy(j.at("strategy").get<std::string>());
  t.direction = parse_side(j.at("direction").get<std::string>());
  t.stride = j.at("stride").get<size_t>();
  return t;
}

Padding padding_of(const json& j) {
  Padding p;
  if (!j.at("length").is_null()) p.length = j.at("length").get<size_t>();
  p.multiple_of = j.at("multiple_of").get<size_t>();
  p.pad_id = j.at("pad_id").get<int32_t>();
  p.pad_type_id = j.at("pad_type_id").get<int32_t>();
  p.pad_token = j.at("pad_token").get<std::string>();
  p.direction = parse_side(j.at("direction").get<std::string>());
  return p;
}

EncodeOptions options_of(const json& c) {
  EncodeOptions o;
  o.add_special = c.at("add_special").get<bool>();
  o.encode_special_tokens = c.value("encode_special_tokens", false);
  if (!c.value("file_config", false)) {
    o.use_file_truncation = false;
    o.use_file_padding = false;
    if (c.contains("truncation")) o.truncation = truncation_of(c.at("truncation"));
    if (c.contains("padding")) o.padding = padding_of(c.at("padding"));
  }
  return o;
}

std::vector<std::vector<size_t>> pairs_of(const std::vector<TokenOffset>& v) {
  std::vector<std::vector<size_t>> out;
  for (const TokenOffset& o : v) out.push_back({o.begin, o.end});
  return out;
}

void expect_encoding(const Encoding& e, const json& want, const std::string& text, const std::string* pair,
                     const std::string& where) {
  SCOPED_TRACE(where);
  EXPECT_EQ(e.ids, want.at("ids").get<std::vector<int32_t>>());
  EXPECT_EQ(e.type_ids, want.at("type_ids").get<std::vector<int32_t>>());
  EXPECT_EQ(std::vector<int>(e.attention_mask.begin(), e.attention_mask.end()),
            want.at("attention_mask").get<std::vector<int>>());
  EXPECT_EQ(std::vector<int>(e.special_tokens_mask.begin(), e.special_tokens_mask.end()),
            want.at("special_tokens_mask").get<std::vector<int>>());
  EXPECT_EQ(e.sequence_ids, want.at("sequence_ids").get<std::vector<int32_t>>());
  EXPECT_EQ(pairs_of(e.offsets), want.at("byte_offsets").get<std::vector<std::vector<size_t>>>());
  // The code-point offsets the bindings report, from ours through char_offsets.
  std::vector<TokenOffset> chars = e.offsets;
  for (int seq = 0; seq < 2; ++seq) {
    if (seq == 1 && pair == nullptr) break;
    const std::vector<TokenOffset> conv = char_offsets(seq == 0 ? text : *pair, e.offsets);
    for (size_t i = 0; i < chars.size() && i < e.sequence_ids.size(); ++i)
      if (e.sequence_ids[i] == seq) chars[i] = conv[i];
  }
  EXPECT_EQ(pairs_of(chars), want.at("offsets").get<std::vector<std::vector<size_t>>>());
}

// The tokenizer a variant runs on: a copy of the file with the variant's
// sections (normalizer, pre_tokenizer, model, post_processor) in place.
std::unique_ptr<Tokenizer> variant_of(const std::string& file, const json& sections) {
  json root = json::parse(read_file(file));
  for (auto it = sections.begin(); it != sections.end(); ++it) root[it.key()] = it.value();
  const std::string dir = test::temp_dir("encoding");
  test::write_file(dir + "/tokenizer.json", root.dump());
  return load_hf_tokenizer(dir + "/tokenizer.json");
}

void run_goldens(const std::string& name) {
  const json doc = json::parse(read_file(golden_path(name)));
  const std::string file = shared_path("hf/" + doc.at("tokenizer").get<std::string>());
  const auto base = load_hf_tokenizer(file);
  std::map<std::string, std::unique_ptr<Tokenizer>> variants;
  for (auto it = doc.at("overrides").begin(); it != doc.at("overrides").end(); ++it)
    variants[it.key()] = variant_of(file, it.value());
  int checked = 0;
  for (const json& c : doc.at("cases")) {
    const std::string cname = name + "/" + c.at("name").get<std::string>();
    SCOPED_TRACE(cname);
    const Tokenizer& tok = c.contains("override") ? *variants.at(c.at("override").get<std::string>()) : *base;
    const EncodeOptions opts = options_of(c);
    if (c.contains("error")) {
      ASSERT_FALSE(c.contains("batch"));
      std::optional<std::string_view> pair;
      const std::string p = c.value("pair", "");
      if (c.contains("pair")) pair = p;
      EXPECT_THROW(encode(tok, c.at("text").get<std::string>(), pair, opts), InputError);
      ++checked;
      continue;
    }
    if (c.contains("batch")) {
      std::vector<std::string> texts, pairs;
      bool any_pair = false;
      for (const json& x : c.at("batch")) {
        texts.push_back(x.at("text").get<std::string>());
        pairs.push_back(x.value("pair", ""));
        any_pair = any_pair || x.contains("pair");
      }
      const std::vector<Encoding> got = encode_batch(tok, texts, any_pair ? &pairs : nullptr, opts);
      ASSERT_EQ(got.size(), c.at("expected").size());
      for (size_t i = 0; i < got.size(); ++i) {
        const bool has_pair = c.at("batch")[i].contains("pair");
        expect_encoding(got[i], c.at("expected")[i], texts[i], has_pair ? &pairs[i] : nullptr,
                        cname + "[" + std::to_string(i) + "]");
      }
      ++checked;
      continue;
    }
    const std::string text = c.at("text").get<std::string>();
    const std::string pair = c.value("pair", "");
    const bool has_pair = c.contains("pair");
    const Encoding e = encode(tok, text, has_pair ? std::optional<std::string_view>(pair) : std::nullopt, opts);
    expect_encoding(e, c.at("expected"), text, has_pair ? &pair : nullptr, cname);
    ++checked;
  }
  EXPECT_GE(checked, 20);
}

TEST(TokenizerEncoding, BgeWordPieceMatchesHf) { run_goldens("bge-small-en-v1.5"); }
TEST(TokenizerEncoding, MiniLmWithFileTruncationAndPaddingMatchesHf) { run_goldens("all-MiniLM-L6-v2"); }
TEST(TokenizerEncoding, Gpt2ByteLevelMatchesHf) { run_goldens("gpt2"); }
TEST(TokenizerEncoding, Llama2SentencePieceBpeMatchesHf) { run_goldens("llama-2"); }

// The plain encode() path gives the same ids as the full encoding.
TEST(TokenizerEncoding, EncodeAgreesWithEncoding) {
  for (const char* rel : {"hf/bge-small-en-v1.5/tokenizer.json", "hf/gpt2/tokenizer.json", "hf/llama-2/tokenizer.json"}) {
    const auto tok = load_hf_tokenizer(shared_path(rel));
    for (const char* text : {"Hello world", "Héllo 😀 [SEP] <s> x", ""}) {
      EncodeOptions o;
      o.use_file_truncation = o.use_file_padding = false;
      EXPECT_EQ(tok->encode(text, true), encode(*tok, text, std::nullopt, o).ids) << rel << " " << text;
      o.add_special = false;
      EXPECT_EQ(tok->encode(text, false), encode(*tok, text, std::nullopt, o).ids) << rel << " " << text;
      o.offsets = false;  // the cheaper path: same ids, no offsets
      const Encoding e = encode(*tok, text, std::nullopt, o);
      EXPECT_EQ(tok->encode(text, false), e.ids) << rel << " " << text;
      EXPECT_EQ(e.offsets, std::vector<TokenOffset>(e.ids.size())) << rel << " " << text;
    }
  }
}

// A GGUF vocabulary has no post-processor description: each text of a pair
// is framed as encode(text, true) frames one (BOS for Llama), the second
// with type id 1; truncation counts those tokens. No offsets.
TEST(TokenizerEncoding, GgufVocabularyPairsAndTruncates) {
  const auto tok = load_tokenizer(shared_path("models/stories260K.gguf"));
  ASSERT_FALSE(tok->has_offsets());
  const std::vector<int32_t> a = tok->encode("Once upon a time", false);
  const std::vector<int32_t> b = tok->encode("there was a cat", false);
  ASSERT_GE(a.size(), 3u);
  ASSERT_GE(b.size(), 3u);
  const int32_t bos = tok->bos_id();
  ASSERT_TRUE(tok->adds_bos());
  EXPECT_EQ(tok->num_special_tokens(true), 2u);
  EncodeOptions o;
  const Encoding e = encode(*tok, "Once upon a time", std::string_view("there was a cat"), o);
  std::vector<int32_t> want = {bos};
  want.insert(want.end(), a.begin(), a.end());
  want.push_back(bos);
  want.insert(want.end(), b.begin(), b.end());
  EXPECT_EQ(e.ids, want);
  std::vector<int32_t> types(1 + a.size(), 0);
  types.resize(want.size(), 1);
  EXPECT_EQ(e.type_ids, types);
  o.truncation = Truncation{};
  o.truncation->max_length = 6;  // 2 BOS + 2 tokens of each text
  const Encoding t = encode(*tok, "Once upon a time", std::string_view("there was a cat"), o);
  EXPECT_EQ(t.ids, (std::vector<int32_t>{bos, a[0], a[1], bos, b[0], b[1]}));
}

TEST(TokenizerEncoding, TruncationNeedsRoomForSpecialTokens) {
  const auto tok = load_hf_tokenizer(shared_path("hf/bge-small-en-v1.5/tokenizer.json"));
  EncodeOptions o;
  o.truncation = Truncation{};
  o.truncation->max_length = 2;  // [CLS] [SEP] only: the text gets nothing
  EXPECT_EQ(encode(*tok, "hello world", std::nullopt, o).ids, (std::vector<int32_t>{101, 102}));
  o.truncation->max_length = 2;
  EXPECT_THROW(encode(*tok, "a", std::string_view("b"), o), InputError);  // a pair adds 3
  o.truncation->max_length = 6;
  o.truncation->stride = 5;  // more than the 4 left for the text
  EXPECT_THROW(encode(*tok, "hello", std::nullopt, o), InputError);
}

TEST(TokenizerEncoding, ParsersRejectUnknownNames) {
  EXPECT_EQ(parse_truncation_strategy("only_second"), TruncationStrategy::kOnlySecond);
  EXPECT_EQ(parse_side("Left"), Side::kLeft);
  EXPECT_THROW(parse_truncation_strategy("longest"), InputError);
  EXPECT_THROW(parse_side("up"), InputError);
}

TEST(TokenizerEncoding, CharOffsetsCountCodePoints) {
  const std::string text = "a\xC3\xA9\xF0\x9F\x98\x80z";  // a é 😀 z
  const std::vector<TokenOffset> bytes = {{0, 1}, {1, 3}, {3, 7}, {7, 8}, {0, 0}};
  const std::vector<TokenOffset> want = {{0, 1}, {1, 2}, {2, 3}, {3, 4}, {0, 0}};
  EXPECT_EQ(char_offsets(text, bytes), want);
}

TEST(TokenizerEncoding, BadFileTruncationSectionIsRejected) {
  json root = json::parse(read_file(shared_path("hf/bge-small-en-v1.5/tokenizer.json")));
  root["truncation"] = {{"max_length", 8}, {"strategy", "Middle"}, {"stride", 0}};
  const std::string dir = test::temp_dir("encoding");
  test::write_file(dir + "/tokenizer.json", root.dump());
  try {
    load_hf_tokenizer(dir + "/tokenizer.json");
    FAIL() << "accepted strategy Middle";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("[tokenizer]"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("Middle"), std::string::npos);
  }
}

}  // namespace
}  // namespace peft
