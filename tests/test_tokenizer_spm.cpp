// SentencePiece BPE on small vocabularies built in memory: merge order,
// byte fallback, special tokens, decode and streaming rules.
#include <gtest/gtest.h>

#include "core/error.h"
#include "tokenizer/spm_tokenizer.h"
#include "tokenizer/utf8.h"

using namespace peft;

namespace {

// <unk> <s> </s>, 256 byte tokens, then the given (piece, score) pairs.
SpmVocab make_vocab(const std::vector<std::pair<std::string, float>>& pieces) {
  SpmVocab v;
  auto add = [&](const std::string& t, float s, TokenType ty) {
    v.tokens.push_back(t);
    v.scores.push_back(s);
    v.types.push_back(static_cast<int32_t>(ty));
  };
  add("<unk>", 0, TokenType::Unknown);
  add("<s>", 0, TokenType::Control);
  add("</s>", 0, TokenType::Control);
  for (int b = 0; b < 256; ++b) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "<0x%02X>", b);
    add(buf, 0, TokenType::Byte);
  }
  for (auto& [p, s] : pieces) add(p, s, TokenType::Normal);
  v.bos = 1;
  v.eos = 2;
  v.unk = 0;
  return v;
}

constexpr int32_t kFirst = 259;  // id of the first extra piece

}  // namespace

TEST(Spm, MergesHighestScoreFirst) {
  // "▁abc": ▁a (-3), ab (-1), bc (-2), abc (-4). The best pair ab merges first,
  // then ▁+ab is not a piece, ab+c = abc is: result ▁ abc.
  SpmTokenizer tok(make_vocab({{"\xE2\x96\x81", -5}, {"a", -6}, {"b", -6}, {"c", -6},
                               {"\xE2\x96\x81" "a", -3}, {"ab", -1}, {"bc", -2}, {"abc", -4}}));
  std::vector<int32_t> ids = tok.encode("abc", false);
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_EQ(tok.token_text(ids[0]), "\xE2\x96\x81");
  EXPECT_EQ(tok.token_text(ids[1]), "abc");
}

TEST(Spm, TiesMergeLeftmost) {
  SpmTokenizer tok(make_vocab({{"a", -1}, {"aa", -1}}));
  SpmVocab v = make_vocab({{"a", -1}, {"aa", -1}});
  v.add_space_prefix = false;
  SpmTokenizer no_prefix(v);
  std::vector<int32_t> ids = no_prefix.encode("aaa", false);
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_EQ(ids[0], kFirst + 1);  // "aa" from the left pair
  EXPECT_EQ(ids[1], kFirst);      // then "a"
}

TEST(Spm, ByteFallbackForUnknownCharacters) {
  SpmVocab v = make_vocab({{"\xE2\x96\x81", -1}, {"x", -1}});
  SpmTokenizer tok(v);
  // "é" = C3 A9 is not a piece: two byte tokens.
  std::vector<int32_t> ids = tok.encode("x\xC3\xA9", false);
  std::vector<int32_t> want = {kFirst, kFirst + 1, 3 + 0xC3, 3 + 0xA9};
  EXPECT_EQ(ids, want);
  EXPECT_EQ(tok.decode(ids), "x\xC3\xA9");
}

TEST(Spm, UnknownWithoutByteTokens) {
  SpmVocab v;
  v.tokens = {"<unk>", "\xE2\x96\x81", "x"};
  v.types = {2, 1, 1};
  v.unk = 0;
  SpmTokenizer tok(v);
  std::vector<int32_t> want = {1, 2, 0, 0};
  EXPECT_EQ(tok.encode("x\xC3\xA9", false), want);
}

TEST(Spm, BosEosAndSpacePrefix) {
  SpmVocab v = make_vocab({{"\xE2\x96\x81", -1}, {"h", -1}, {"i", -1}, {"\xE2\x96\x81" "hi", -0.5f},
                           {"\xE2\x96\x81" "h", -0.7f}, {"hi", -0.6f}});
  v.add_eos = true;
  SpmTokenizer tok(v);
  std::vector<int32_t> ids = tok.encode("hi", true);
  ASSERT_EQ(ids.size(), 3u);
  EXPECT_EQ(ids[0], 1);
  EXPECT_EQ(tok.token_text(ids[1]), "\xE2\x96\x81" "hi");
  EXPECT_EQ(ids[2], 2);
  EXPECT_TRUE(tok.encode("", false).empty());
  std::vector<int32_t> bos_eos = {1, 2};
  EXPECT_EQ(tok.encode("", true), bos_eos);
  EXPECT_EQ(tok.decode(ids), "hi");
  // Shown, <s> is the first piece: the space of "▁hi" is then kept, as in
  // SentencePiece's legacy decoding.
  EXPECT_EQ(tok.decode(ids, false), "<s> hi</s>");
}

TEST(Spm, DecodeStripsOnlyTheFirstPrefixSpace) {
  SpmTokenizer tok(make_vocab({{"\xE2\x96\x81", -1}, {"a", -1}, {"\xE2\x96\x81" "a", -0.5f}}));
  for (std::string s : {"a a", " a", "  a  ", "a", " ", ""}) {
    EXPECT_EQ(tok.decode(tok.encode(s, true)), s) << "[" << s << "]";
  }
}

TEST(Spm, ControlTokensInTextAreMatched) {
  SpmVocab v = make_vocab({{"\xE2\x96\x81", -1}, {"a", -1}, {"\xE2\x96\x81" "a", -0.5f}});
  SpmTokenizer tok(v);
  // "a</s>a" -> ▁a </s> ▁a (a new space prefix after a special token).
  std::vector<int32_t> want = {kFirst + 2, 2, kFirst + 2};
  EXPECT_EQ(tok.encode("a</s>a", false), want);
  tok.set_parse_special(false);
  std::vector<int32_t> plain = tok.encode("a</s>a", false);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), 2), 0);
  EXPECT_EQ(tok.decode(plain), "a</s>a");
}

TEST(Spm, UserDefinedTokensAlwaysMatched) {
  SpmVocab v = make_vocab({{"\xE2\x96\x81", -1}, {"a", -1}, {"<tag>", 0}});
  v.types.back() = static_cast<int32_t>(TokenType::UserDefined);
  SpmTokenizer tok(v);
  tok.set_parse_special(false);
  std::vector<int32_t> ids = tok.encode("a<tag>", false);
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(ids.back(), kFirst + 2);
  EXPECT_FALSE(tok.is_special(kFirst + 2));
  EXPECT_TRUE(tok.is_special(1));
}

TEST(Spm, RejectsBadInput) {
  SpmVocab v = make_vocab({});
  v.scores.pop_back();
  EXPECT_THROW(SpmTokenizer{v}, InputError);
  SpmTokenizer tok(make_vocab({{"\xE2\x96\x81", -1}}));
  EXPECT_THROW(tok.decode({100000}), InputError);
  EXPECT_THROW(tok.decode({-1}), InputError);
  // Invalid UTF-8 goes through byte fallback and comes back unchanged.
  std::string bad = "\xFF\xE2\x96";
  EXPECT_EQ(tok.decode(tok.encode(bad, false)), bad);
}

TEST(Spm, StreamDecoderHoldsBackPartialCharacters) {
  SpmTokenizer tok(make_vocab({{"\xE2\x96\x81", -1}, {"x", -1}}));
  // "x😀" -> ▁ x <F0> <9F> <98> <80>: nothing of the emoji shows until its last byte.
  std::vector<int32_t> ids = tok.encode("x\xF0\x9F\x98\x80", true);
  StreamDecoder sd(tok);
  std::string got;
  std::vector<std::string> parts;
  for (int32_t id : ids) parts.push_back(sd.push(id));
  parts.push_back(sd.flush());
  for (auto& p : parts) got += p;
  EXPECT_EQ(got, "x\xF0\x9F\x98\x80");
  EXPECT_EQ(parts[parts.size() - 3], "");  // after <9F>... wait for <80>
  EXPECT_EQ(parts[parts.size() - 2], "\xF0\x9F\x98\x80");
}

TEST(Utf8, CompletePrefix) {
  EXPECT_EQ(utf8_complete_prefix("abc"), 3u);
  EXPECT_EQ(utf8_complete_prefix("a\xE2\x96"), 1u);
  EXPECT_EQ(utf8_complete_prefix("a\xE2\x96\x81"), 4u);
  EXPECT_EQ(utf8_complete_prefix("\xF0\x9F\x98"), 0u);
  EXPECT_EQ(utf8_complete_prefix("a\x80\x80"), 3u);  // stray continuations pass
  EXPECT_EQ(utf8_complete_prefix(""), 0u);
}
