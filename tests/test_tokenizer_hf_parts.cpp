// The parts of the tokenizer.json pipeline that the three real files do not
// exercise, each on a small hand-written tokenizer.json whose expected ids
// follow from the Hugging Face semantics worked out by hand in the comments;
// and malformed files, each of which must give one line naming the file.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "test_util.h"
#include "tokenizer/hf/hf_tokenizer.h"

namespace peft {
namespace {

using nlohmann::json;

// A WordLevel vocabulary {"tok": index}.
json word_vocab(const std::vector<std::string>& tokens) {
  json v = json::object();
  for (size_t i = 0; i < tokens.size(); ++i) v[tokens[i]] = static_cast<int>(i);
  return v;
}

std::string write_json(const std::string& tag, const std::string& text) {
  const std::string path = test::temp_dir(tag) + "/tokenizer.json";
  test::write_file(path, text);
  return path;
}

std::unique_ptr<Tokenizer> load(const json& j) { return load_hf_tokenizer(write_json("hftok", j.dump())); }

// A tokenizer with a WordLevel model over `tokens` (index 0 is the unk) and
// the given pipeline parts.
json word_level(const std::vector<std::string>& tokens) {
  return json{{"model", {{"type", "WordLevel"}, {"vocab", word_vocab(tokens)}, {"unk_token", tokens[0]}}},
              {"added_tokens", json::array()}};
}

using Ids = std::vector<int32_t>;

TEST(TokenizerHfParts, SplitBehaviours) {
  // "a-b--c" with "-" as the pattern: a | - | b | - | - | c
  const std::vector<std::string> toks = {"<unk>", "a", "b", "c", "-", "a-", "b-", "-b", "-c", "--"};
  auto run = [&](const char* behavior, bool invert) {
    json j = word_level(toks);
    j["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"String", "-"}}}, {"behavior", behavior}, {"invert", invert}};
    return load(j)->encode("a-b--c", false);
  };
  EXPECT_EQ(run("Removed", false), (Ids{1, 2, 3}));
  EXPECT_EQ(run("Isolated", false), (Ids{1, 4, 2, 4, 4, 3}));
  // A match joins the piece before it unless that piece is itself a match.
  EXPECT_EQ(run("MergedWithPrevious", false), (Ids{5, 6, 4, 3}));
  EXPECT_EQ(run("MergedWithNext", false), (Ids{1, 7, 4, 8}));
  EXPECT_EQ(run("Contiguous", false), (Ids{1, 4, 2, 9, 3}));
  // Inverted, the letters are the matches and Removed keeps the dashes.
  EXPECT_EQ(run("Removed", true), (Ids{4, 4, 4}));
}

TEST(TokenizerHfParts, SplitRegexWithLookahead) {
  // GPT-2's whitespace rule: \s+(?!\S) leaves the last space for the word.
  const std::vector<std::string> toks = {"<unk>", "a", "  ", " b"};
  json j = word_level(toks);
  j["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", R"( ?\p{L}+|\s+(?!\S)|\s+)"}}}, {"behavior", "Isolated"}};
  EXPECT_EQ(load(j)->encode("a   b", false), (Ids{1, 2, 3}));
}

TEST(TokenizerHfParts, RegexDialect) {
  // Patterns are Oniguruma's: long category names, \w with marks, and a
  // class nested in a class (a union, as in BLOOM's pattern).
  const std::vector<std::string> toks = {"<unk>", "ab", "1", "e\xCC\x81x", "y", "hi", ",", " you"};
  auto run = [&](const std::string& regex, const char* behavior, bool invert, const std::string& text) {
    json j = word_level(toks);
    j["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", regex}}}, {"behavior", behavior}, {"invert", invert}};
    return load(j)->encode(text, false);
  };
  EXPECT_EQ(run(R"(\p{Letter}+)", "Isolated", false, "ab1"), (Ids{1, 2}));
  EXPECT_EQ(run(R"(\w+)", "Removed", true, "e\xCC\x81x y"), (Ids{3, 4}));
  EXPECT_EQ(run(R"( ?[^(\s|[.,!?])]+)", "Isolated", false, "hi, you"), (Ids{5, 6, 7}));
}

TEST(TokenizerHfParts, MetaspacePrependSchemes) {
  // Added token <x> splits "a<x>a"; "first" only prefixes the piece that
  // starts the input, "always" every piece, "never" none.
  const std::vector<std::string> toks = {"<unk>", "\xE2\x96\x81" "a", "a", "<x>", "\xE2\x96\x81" "b"};
  auto run = [&](const char* scheme, const std::string& text) {
    json j = word_level(toks);
    j["added_tokens"] = json::array({{{"id", 3}, {"content", "<x>"}, {"special", true}, {"normalized", false}}});
    j["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", "\xE2\x96\x81"}, {"prepend_scheme", scheme}, {"split", true}};
    return load(j)->encode(text, false);
  };
  EXPECT_EQ(run("first", "a<x>a"), (Ids{1, 3, 2}));
  EXPECT_EQ(run("always", "a<x>a"), (Ids{1, 3, 1}));
  EXPECT_EQ(run("never", "a<x>a"), (Ids{2, 3, 2}));
  // split: "a b" -> "▁a▁b" -> "▁a" "▁b"
  EXPECT_EQ(run("always", "a b"), (Ids{1, 4}));
}

TEST(TokenizerHfParts, AddedTokenFlags) {
  const std::vector<std::string> toks = {"<unk>", "a", "a ", " b", "b", "<m>", "cat", " concat", "hello", " x"};
  auto with = [&](json added) {
    json j = word_level(toks);
    j["added_tokens"] = json::array({added});
    return load(j);
  };
  json m = {{"id", 5}, {"content", "<m>"}, {"special", false}, {"normalized", false}};
  EXPECT_EQ(with(m)->encode("a <m> b", false), (Ids{2, 5, 3}));
  m["lstrip"] = true;
  m["rstrip"] = true;
  EXPECT_EQ(with(m)->encode("a <m> b", false), (Ids{1, 5, 4}));
  // single_word: "cat" inside "concat" is not a match.
  json cat = {{"id", 6}, {"content", "cat"}, {"special", false}, {"normalized", false}, {"single_word", true}};
  EXPECT_EQ(with(cat)->encode("cat concat", false), (Ids{6, 7}));
  // normalized: matched after the normalizer (here Lowercase) has run.
  json hello = {{"id", 8}, {"content", "hello"}, {"special", false}, {"normalized", true}};
  json j = word_level(toks);
  j["added_tokens"] = json::array({hello});
  j["normalizer"] = {{"type", "Lowercase"}};
  EXPECT_EQ(load(j)->encode("HELLO X", false), (Ids{8, 9}));
}

TEST(TokenizerHfParts, AddedTokenTakesTheModelsId) {
  // An added token whose content the model has gets the model's id, whatever
  // id the file states (HF re-adds the tokens on load and only warns).
  json j = word_level({"<unk>", "a", "<m>", "b"});
  j["added_tokens"] = json::array({{{"id", 7}, {"content", "<m>"}, {"special", true}, {"normalized", false}}});
  j["pre_tokenizer"] = {{"type", "WhitespaceSplit"}};
  auto tok = load(j);
  EXPECT_EQ(tok->encode("a<m>b", false), (Ids{1, 2, 3}));
  EXPECT_TRUE(tok->is_special(2));
  EXPECT_EQ(tok->decode({1, 2, 3}, true), "a b");
}

TEST(TokenizerHfParts, WordPieceWithoutType) {
  // Files from old tokenizers versions omit "type"; the fields say WordPiece.
  json j = {{"model", {{"unk_token", "[UNK]"}, {"continuing_subword_prefix", "##"}, {"max_input_chars_per_word", 100},
                       {"vocab", word_vocab({"[UNK]", "un", "##aff", "##able", "hello"})}}},
            {"pre_tokenizer", {{"type", "WhitespaceSplit"}}}};
  auto tok = load(j);
  EXPECT_EQ(tok->encode("unaffable hello xyz", false), (Ids{1, 2, 3, 4, 0}));
}

TEST(TokenizerHfParts, BpeMergesAsPairsWithSuffixAndPrefix) {
  // merges as [a, b] pairs; ranks decide: "ab" before "bc" in "abc".
  json j = {{"model", {{"type", "BPE"}, {"vocab", word_vocab({"a", "b", "c", "ab", "bc", "abc"})},
                       {"merges", json::array({json::array({"a", "b"}), json::array({"b", "c"}),
                                               json::array({"ab", "c"})})}}},
            {"pre_tokenizer", {{"type", "WhitespaceSplit"}}}};
  EXPECT_EQ(load(j)->encode("abc bc ca", false), (Ids{5, 4, 2, 0}));
  // continuing_subword_prefix: "x" then "##y"; the merge drops the prefix.
  json k = {{"model", {{"type", "BPE"}, {"continuing_subword_prefix", "##"}, {"end_of_word_suffix", "</w>"},
                       {"vocab", word_vocab({"x", "##y", "##y</w>", "xy</w>", "[UNK]"})},
                       {"unk_token", "[UNK]"}, {"merges", json::array({"x ##y</w>"})}}}};
  EXPECT_EQ(load(k)->encode("xy", false), (Ids{3}));
  // An unknown character without byte tokens becomes unk; fuse_unk joins runs.
  k["model"]["fuse_unk"] = true;
  EXPECT_EQ(load(k)->encode("qqy", false), (Ids{4, 2}));
}

TEST(TokenizerHfParts, BpeLongPieceMatchesShortOnes) {
  // No pre-tokenizer: "xabc" * 300 is one 1200-byte piece, which is cut
  // where no token spans two neighbours (between "c" and "x") and merged in
  // stretches; the ids must be those of the short pieces, repeated. Ranks:
  // "b c" before "a b", so "abc" -> a + bc, then "x a" -> xa.
  json j = {{"model", {{"type", "BPE"}, {"vocab", word_vocab({"x", "a", "b", "c", "bc", "ab", "xa", "abc"})},
                       {"merges", json::array({"b c", "a b", "x a", "ab c"})}}}};
  auto tok = load(j);
  const Ids one = tok->encode("xabc", false);
  EXPECT_EQ(one, (Ids{6, 4}));
  std::string text;
  Ids want;
  for (int k = 0; k < 300; ++k) {
    text += "xabc";
    want.insert(want.end(), one.begin(), one.end());
  }
  EXPECT_EQ(tok->encode(text, false), want);
}

TEST(TokenizerHfParts, BpeByteFallback) {
  // "é" (C3 A9) is not in the vocabulary: its byte tokens stand in, and the
  // ByteFallback decoder reassembles them; a lone byte decodes as U+FFFD.
  json j = {{"model", {{"type", "BPE"}, {"byte_fallback", true}, {"unk_token", "<unk>"},
                       {"vocab", word_vocab({"<unk>", "<0xC3>", "<0xA9>", "a"})}, {"merges", json::array()}}},
            {"decoder", {{"type", "Sequence"}, {"decoders", json::array({{{"type", "ByteFallback"}}, {{"type", "Fuse"}}})}}}};
  auto tok = load(j);
  EXPECT_EQ(tok->encode("a\xC3\xA9", false), (Ids{3, 1, 2}));
  EXPECT_EQ(tok->decode({3, 1, 2}), "a\xC3\xA9");
  EXPECT_EQ(tok->decode({1, 3}), "\xEF\xBF\xBD" "a");
}

TEST(TokenizerHfParts, UnigramViterbi) {
  // Scores: a -1, b -2, ab -1.5; "aab" = a + ab (-2.5) beats a + a + b (-4).
  // "zz" has no piece: one fused unk.
  json j = {{"model", {{"type", "Unigram"}, {"unk_id", 0},
                       {"vocab", json::array({json::array({"<unk>", 0.0}), json::array({"a", -1.0}),
                                              json::array({"b", -2.0}), json::array({"ab", -1.5}),
                                              json::array({"<0x7A>", -5.0})})}}}};
  EXPECT_EQ(load(j)->encode("aab", false), (Ids{1, 3}));
  EXPECT_EQ(load(j)->encode("zzab", false), (Ids{0, 3}));
  j["model"]["byte_fallback"] = true;
  EXPECT_EQ(load(j)->encode("zzab", false), (Ids{4, 4, 3}));
}

TEST(TokenizerHfParts, Normalizers) {
  const std::vector<std::string> toks = {"<unk>", "fi", "cafe", "x_y", "abc", "\xE2\x96\x81" "q"};
  auto run = [&](json normalizer, const std::string& text) {
    json j = word_level(toks);
    j["normalizer"] = normalizer;
    return load(j)->encode(text, false);
  };
  EXPECT_EQ(run({{"type", "NFKC"}}, "\xEF\xAC\x81"), (Ids{1}));  // U+FB01 ligature
  json strip_accents = {{"type", "Sequence"}, {"normalizers", json::array({{{"type", "NFD"}}, {{"type", "StripAccents"}}})}};
  EXPECT_EQ(run(strip_accents, "caf\xC3\xA9"), (Ids{2}));
  EXPECT_EQ(run({{"type", "Replace"}, {"pattern", {{"Regex", "\\s+"}}}, {"content", "_"}}, "x \t y"), (Ids{3}));
  EXPECT_EQ(run({{"type", "Strip"}, {"strip_left", true}, {"strip_right", true}}, "  abc \n"), (Ids{4}));
  EXPECT_EQ(run({{"type", "Prepend"}, {"prepend", "\xE2\x96\x81"}}, "q"), (Ids{5}));
  EXPECT_EQ(run({{"type", "Prepend"}, {"prepend", "\xE2\x96\x81"}}, ""), (Ids{}));
  // BERT: strip_accents null follows lowercase; CJK ideographs get spaces.
  json bert = {{"type", "BertNormalizer"}, {"clean_text", true}, {"handle_chinese_chars", true},
               {"strip_accents", nullptr}, {"lowercase", true}};
  EXPECT_EQ(run(bert, "CAF\xC3\x89"), (Ids{2}));
}

TEST(TokenizerHfParts, DigitsAndPunctuation) {
  const std::vector<std::string> toks = {"<unk>", "a", "1", "2", "12", "!", "?", "!?"};
  auto run = [&](json pre, const std::string& text) {
    json j = word_level(toks);
    j["pre_tokenizer"] = pre;
    return load(j)->encode(text, false);
  };
  EXPECT_EQ(run({{"type", "Digits"}, {"individual_digits", true}}, "a12"), (Ids{1, 2, 3}));
  EXPECT_EQ(run({{"type", "Digits"}, {"individual_digits", false}}, "a12"), (Ids{1, 4}));
  EXPECT_EQ(run({{"type", "Punctuation"}}, "a!?"), (Ids{1, 5, 6}));
  EXPECT_EQ(run({{"type", "Punctuation"}, {"behavior", "Contiguous"}}, "a!?"), (Ids{1, 7}));
}

TEST(TokenizerHfParts, UnicodeScripts) {
  // Cuts at script changes; a space stays with the text before it, leading
  // spaces go; kana count as Han. U+20BF (Unicode 10) has no script in HF's
  // SentencePiece-derived table, so it sticks to what precedes it too.
  const std::vector<std::string> toks = {"<unk>", "Apples are ", "\xE3\x82\x8A\xE3\x82\x93\xE3\x81\x94 \xE6\x9E\x97\xE6\xAA\x8E",
                                         "hi", "plus \xE2\x82\xBF", "0"};
  json j = word_level(toks);
  j["pre_tokenizer"] = {{"type", "UnicodeScripts"}};
  auto tok = load(j);
  EXPECT_EQ(tok->encode("Apples are \xE3\x82\x8A\xE3\x82\x93\xE3\x81\x94 \xE6\x9E\x97\xE6\xAA\x8E", false), (Ids{1, 2}));
  EXPECT_EQ(tok->encode(" hi", false), (Ids{3}));
  EXPECT_EQ(tok->encode("   ", false), (Ids{}));
  EXPECT_EQ(tok->encode("plus \xE2\x82\xBF" "0", false), (Ids{4, 5}));
}

TEST(TokenizerHfParts, BpeUnkTokenMissingFromVocab) {
  // Loads (as HF does); fails only when a character needs the unk token.
  json j = {{"model", {{"type", "BPE"}, {"unk_token", "<unk>"}, {"vocab", word_vocab({"a", "b"})}, {"merges", json::array()}}}};
  auto tok = load(j);
  EXPECT_EQ(tok->encode("ab", false), (Ids{0, 1}));
  EXPECT_THROW(tok->encode("az", false), InputError);
}

TEST(TokenizerHfParts, PostProcessors) {
  const std::vector<std::string> toks = {"<unk>", "<s>", "</s>", "a"};
  auto run = [&](json post, bool add) {
    json j = word_level(toks);
    j["post_processor"] = post;
    return load(j)->encode("a", add);
  };
  json roberta = {{"type", "RobertaProcessing"}, {"sep", json::array({"</s>", 2})}, {"cls", json::array({"<s>", 1})}};
  EXPECT_EQ(run(roberta, true), (Ids{1, 3, 2}));
  EXPECT_EQ(run(roberta, false), (Ids{3}));
  json tmpl = {{"type", "TemplateProcessing"},
               {"single", json::array({{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}},
                                       {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
                                       {{"SpecialToken", {{"id", "</s>"}, {"type_id", 0}}}}})},
               {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", {1}}, {"tokens", {"<s>"}}}},
                                   {"</s>", {{"id", "</s>"}, {"ids", {2, 2}}, {"tokens", {"</s>", "</s>"}}}}}}};
  json seq = {{"type", "Sequence"}, {"processors", json::array({{{"type", "ByteLevel"}}, tmpl})}};
  EXPECT_EQ(run(seq, true), (Ids{1, 3, 2, 2}));
  json j = word_level(toks);
  j["post_processor"] = tmpl;
  auto tok = load(j);
  EXPECT_TRUE(tok->adds_bos());
  EXPECT_EQ(tok->bos_id(), 1);
  EXPECT_EQ(tok->eos_id(), 2);
}

TEST(TokenizerHfParts, Decoders) {
  const std::vector<std::string> toks = {"<unk>", "\xE2\x96\x81" "hi", "\xE2\x96\x81" "there", "##s", ".", "<b>"};
  auto run = [&](json dec, const Ids& ids) {
    json j = word_level(toks);
    j["added_tokens"] = json::array({{{"id", 5}, {"content", "<b>"}, {"special", true}, {"normalized", false}}});
    j["decoder"] = dec;
    return load(j)->decode(ids, true);
  };
  json meta = {{"type", "Metaspace"}, {"replacement", "\xE2\x96\x81"}, {"prepend_scheme", "always"}};
  EXPECT_EQ(run(meta, {1, 2, 5}), "hi there");
  meta["prepend_scheme"] = "never";
  EXPECT_EQ(run(meta, {1, 2}), " hi there");
  EXPECT_EQ(run({{"type", "WordPiece"}, {"prefix", "##"}, {"cleanup", true}}, {1, 3, 4}),
            "\xE2\x96\x81" "hi" "s.");
  json strip = {{"type", "Sequence"},
                {"decoders", json::array({{{"type", "Replace"}, {"pattern", {{"String", "\xE2\x96\x81"}}}, {"content", " "}},
                                          {{"type", "Fuse"}},
                                          {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}})}};
  EXPECT_EQ(run(strip, {1, 2}), "hi there");
  // No decoder: tokens joined with spaces.
  json j = word_level(toks);
  EXPECT_EQ(load(j)->decode({1, 4}), "\xE2\x96\x81" "hi .");
}

std::string base64(const std::string& bytes) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(acc >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(acc << (6 - bits)) & 63]);
  while (out.size() % 4) out.push_back('=');
  return out;
}

TEST(TokenizerHfParts, PrecompiledCharsmap) {
  // A darts-clone double array holding the one key "A" -> "a": the root
  // (unit 0) has offset 1, so byte 0x41 leads to unit 1 ^ 0x41 = 0x40, whose
  // label is 0x41, leaf bit set and offset 1; its value unit 0x41 points at
  // offset 0 of the strings "a\0".
  std::vector<uint32_t> units(0x42, 0);
  units[0] = 1u << 10;
  units[0x40] = (1u << 10) | (1u << 8) | 0x41;
  units[0x41] = (1u << 31) | 0;
  std::string blob;
  auto put = [&](uint32_t v) {
    for (int k = 0; k < 4; ++k) blob.push_back(static_cast<char>((v >> (8 * k)) & 0xFF));
  };
  put(static_cast<uint32_t>(units.size() * 4));
  for (uint32_t u : units) put(u);
  blob += std::string("a\0", 2);
  json j = word_level({"<unk>", "xay", "xby"});
  j["normalizer"] = {{"type", "Precompiled"}, {"precompiled_charsmap", base64(blob)}};
  auto tok = load(j);
  EXPECT_EQ(tok->encode("xAy", false), (Ids{1}));
  EXPECT_EQ(tok->encode("xby", false), (Ids{2}));
  // A map of null means no normalization.
  j["normalizer"] = {{"type", "Precompiled"}, {"precompiled_charsmap", nullptr}};
  EXPECT_EQ(load(j)->encode("xby", false), (Ids{2}));
}

// Every malformed file must fail with InputError "[tokenizer] <path>: ..."
// on one line.
void expect_bad(const std::string& text, const std::string& needle) {
  const std::string path = write_json("hfbad", text);
  try {
    load_hf_tokenizer(path);
    ADD_FAILURE() << "accepted: " << text.substr(0, 200);
  } catch (const InputError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.rfind("[tokenizer] " + path + ": ", 0), 0u) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    EXPECT_NE(msg.find(needle), std::string::npos) << msg;
  }
}

TEST(TokenizerHfParts, MalformedFiles) {
  const std::string bpe_ok = R"({"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]})";
  expect_bad("{\"model\": ", "not valid JSON");
  expect_bad("[1, 2]", "not a JSON object");
  expect_bad(R"({"normalizer": null})", "model");
  expect_bad(R"({"model": {"type": "Mystery", "vocab": {}}})", "unknown model type 'Mystery'");
  expect_bad(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a c"]}})", "merge 1");
  expect_bad(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["ab"]}})", "merge 1");
  expect_bad(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [[1, 2]]}})", "merge 1");
  expect_bad(R"({"model": {"type": "BPE", "vocab": [1, 2], "merges": []}})", "vocab");
  expect_bad(R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 0}, "merges": []}})", "two tokens");
  expect_bad(R"({"model": {"type": "BPE", "vocab": {"a": 99999999}, "merges": []}})", "out of range");
  expect_bad(R"({"model": {"type": "BPE", "vocab": {"a": 0}}})", "merges");
  expect_bad(R"({"model": {"type": "WordPiece", "vocab": {"a": 0}, "unk_token": "[UNK]"}})", "unk_token");
  expect_bad(R"({"model": {"type": "Unigram", "vocab": [["a"]]}})", "vocab entry 0");
  expect_bad(R"({"model": )" + bpe_ok + R"(, "normalizer": {"type": "Sparkle"}})", "unknown normalizer type 'Sparkle'");
  expect_bad(R"({"model": )" + bpe_ok + R"(, "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(a"}, "behavior": "Isolated"}})",
             "does not compile");
  expect_bad(R"({"model": )" + bpe_ok + R"(, "pre_tokenizer": {"type": "Split", "pattern": {"String": "a"}, "behavior": "Sideways"}})",
             "Sideways");
  expect_bad(R"({"model": )" + bpe_ok + R"(, "pre_tokenizer": {"type": "Metaspace", "prepend_scheme": "sometimes"}})",
             "sometimes");
  expect_bad(R"({"model": )" + bpe_ok + R"(, "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}], "special_tokens": {}}})",
             "'<s>'");
  expect_bad(R"({"model": )" + bpe_ok + R"(, "decoder": {"type": "Strip", "content": "ab", "start": 1, "stop": 0}})",
             "single character");
  expect_bad(R"({"model": )" + bpe_ok + R"(, "decoder": 7})", "decoder");
  expect_bad(R"({"model": )" + bpe_ok + R"(, "added_tokens": [{"content": "x"}]})", "added token 0");
  expect_bad(R"({"model": )" + bpe_ok + R"(, "normalizer": {"type": "BertNormalizer", "lowercase": "yes"}})", "lowercase");
  expect_bad(R"({"model": )" + bpe_ok + R"(, "normalizer": {"type": "Precompiled", "precompiled_charsmap": "!!"}})", "base64");
  std::string deep = R"({"type": "Lowercase"})";
  for (int k = 0; k < 200; ++k) deep = R"({"type": "Sequence", "normalizers": [)" + deep + "]}";
  expect_bad(R"({"model": )" + bpe_ok + R"(, "normalizer": )" + deep + "}", "nested more than");
  expect_bad(R"({"model": )" + bpe_ok + R"(, "normalizer": {"type": "Precompiled", "precompiled_charsmap": "/////w=="}})", "trie size");
}

TEST(TokenizerHfParts, MissingFile) {
  try {
    load_hf_tokenizer("/nonexistent/dir/tokenizer.json");
    ADD_FAILURE() << "accepted a missing file";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("[tokenizer] /nonexistent/dir/tokenizer.json: "), std::string::npos);
  }
}

TEST(TokenizerHfParts, InvalidUtf8InputIsReplaced) {
  // Bytes that are not UTF-8 become U+FFFD before anything else sees them,
  // one per maximal invalid subpart (as Python's "replace" does).
  json j = word_level({"<unk>", "\xEF\xBF\xBD", "a"});
  j["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"String", "a"}}}, {"behavior", "Isolated"}};
  EXPECT_EQ(load(j)->encode("\xE2\x82" "a\xFF", false), (Ids{1, 2, 1}));
}

}  // namespace
}  // namespace peft
