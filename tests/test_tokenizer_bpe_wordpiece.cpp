// Byte-level BPE and WordPiece on small in-memory vocabularies, and their
// building blocks (byte<->character table, regex pre-tokenizer).
#include <gtest/gtest.h>

#include "core/error.h"
#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/byte_unicode.h"
#include "tokenizer/regex_splitter.h"
#include "tokenizer/wordpiece_tokenizer.h"

using namespace peft;

TEST(ByteUnicode, EveryByteRoundTrips) {
  std::string all;
  for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
  std::string mapped = bytes_to_unicode(all);
  EXPECT_EQ(unicode_to_bytes(mapped), all);
  EXPECT_EQ(bytes_to_unicode(" "), "\xC4\xA0");  // U+0120 "Ġ"
  EXPECT_EQ(bytes_to_unicode("\n"), "\xC4\x8A");  // U+010A "Ċ"
  EXPECT_EQ(bytes_to_unicode("Az~"), "Az~");
  EXPECT_EQ(bytes_to_unicode("\xE9"), "\xC3\xA9");  // 0xE9 stands for itself, U+00E9
  // Characters outside the table pass through as their own UTF-8.
  EXPECT_EQ(unicode_to_bytes("\xE2\x82\xAC"), "\xE2\x82\xAC");
}

TEST(RegexSplitter, Gpt2PiecesCoverTheText) {
  RegexSplitter re(kGpt2SplitRegex);
  auto pieces = re.split("Hello world  !it's 42");
  std::vector<std::string> got(pieces.begin(), pieces.end());
  std::vector<std::string> want = {"Hello", " world", " ", " !", "it", "'s", " 42"};
  EXPECT_EQ(got, want);
  // Invalid UTF-8 is kept as pieces of its own, never dropped.
  std::string bad = "ab\xFF\xFE cd";
  std::string joined;
  for (auto p : re.split(bad)) joined += p;
  EXPECT_EQ(joined, bad);
  EXPECT_TRUE(re.split("").empty());
  EXPECT_THROW(RegexSplitter("(unclosed"), InputError);
}

namespace {

// Tokens: the 256 byte characters, then extras; merges over them.
BpeVocab byte_vocab(const std::vector<std::string>& extra, const std::vector<std::string>& merges) {
  BpeVocab v;
  for (int b = 0; b < 256; ++b) v.tokens.push_back(bytes_to_unicode(std::string(1, static_cast<char>(b))));
  for (auto& t : extra) v.tokens.push_back(t);
  v.merges = merges;
  return v;
}

}  // namespace

TEST(Bpe, AppliesMergesByRank) {
  // "abc" with b+c ranked first: bc forms, and a+bc is no merge -> a, bc.
  BpeTokenizer tok(byte_vocab({"ab", "bc", "abc"}, {"b c", "a b", "ab c"}));
  std::vector<int32_t> want = {'a', 257};
  EXPECT_EQ(tok.encode("abc", false), want);
  // With a+b ranked first: ab, then ab+c -> abc.
  BpeTokenizer tok2(byte_vocab({"ab", "bc", "abc"}, {"a b", "b c", "ab c"}));
  std::vector<int32_t> want2 = {258};
  EXPECT_EQ(tok2.encode("abc", false), want2);
  EXPECT_EQ(tok2.decode(want2), "abc");
}

TEST(Bpe, SpacesAttachToTheNextWord) {
  std::string sp = bytes_to_unicode(" ");
  BpeTokenizer tok(byte_vocab({sp + "a"}, {sp + " a"}));
  std::vector<int32_t> want = {'a', 256, 256};
  EXPECT_EQ(tok.encode("a a a", false), want);
  EXPECT_EQ(tok.decode(want), "a a a");
  // Every byte string survives, valid UTF-8 or not.
  std::string bytes = "\xF0\x9F\x98\x80 \xFF\x00z";
  bytes += '\0';
  EXPECT_EQ(tok.decode(tok.encode(bytes, false)), bytes);
}

TEST(Bpe, RejectsBadVocabularies) {
  BpeVocab v = byte_vocab({}, {"nospace"});
  EXPECT_THROW(BpeTokenizer{v}, InputError);
  v = byte_vocab({}, {});
  v.types = {1, 2};
  EXPECT_THROW(BpeTokenizer{v}, InputError);
  BpeTokenizer ok(byte_vocab({}, {}));
  EXPECT_THROW(ok.decode({256}), InputError);
}

namespace {

WordPieceVocab bert_vocab() {
  WordPieceVocab v;
  v.tokens = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "un", "##aff", "##able", "cafe", "hello", ",", "!", "\xE4\xBD\xA0",
              "\xE5\xA5\xBD", "world"};
  v.types.assign(v.tokens.size(), 1);
  for (int i = 0; i < 4; ++i) v.types[i] = 3;
  v.unk = 1;
  v.cls = 2;
  v.sep = 3;
  return v;
}

}  // namespace

TEST(WordPiece, GreedyLongestMatch) {
  WordPieceTokenizer tok(bert_vocab());
  std::vector<int32_t> want = {2, 4, 5, 6, 3};
  EXPECT_EQ(tok.encode("unaffable", true), want);
  // "unaffx": the rest "x" matches nothing, so the whole word is [UNK].
  std::vector<int32_t> unk = {1};
  EXPECT_EQ(tok.encode("unaffx", false), unk);
  EXPECT_EQ(tok.decode({2, 4, 5, 6, 3}), "unaffable");
}

TEST(WordPiece, NormalizesAndSplits) {
  WordPieceTokenizer tok(bert_vocab());
  // Accents stripped, lowercased, punctuation and ideographs split off,
  // control characters dropped, any whitespace separates.
  auto words = tok.pre_tokenize("Caf\xC3\xA9,HELLO\t\xE4\xBD\xA0\xE5\xA5\xBD\x01world!");
  std::vector<std::string> want = {"cafe", ",", "hello", "\xE4\xBD\xA0", "\xE5\xA5\xBD", "world", "!"};
  EXPECT_EQ(words, want);
  std::vector<int32_t> ids = {7, 9, 8, 11, 12, 13, 10};
  EXPECT_EQ(tok.encode("Caf\xC3\xA9,HELLO\t\xE4\xBD\xA0\xE5\xA5\xBD\x01world!", false), ids);
  // HF's clean-up joins "," and "!" to the word before.
  EXPECT_EQ(tok.decode(ids), "cafe, hello \xE4\xBD\xA0 \xE5\xA5\xBD world!");
  // Special tokens in the text are matched as they are written.
  std::vector<int32_t> sep = {8, 3, 13};
  EXPECT_EQ(tok.encode("hello[SEP]world", false), sep);
}

TEST(WordPiece, LongWordsAndBadInput) {
  WordPieceTokenizer tok(bert_vocab());
  std::vector<int32_t> unk = {1};
  EXPECT_EQ(tok.encode(std::string(101, 'a'), false), unk);
  EXPECT_TRUE(tok.encode("\xFF\xFE", false).empty());  // malformed bytes are dropped like U+FFFD
  WordPieceVocab v = bert_vocab();
  v.tokens[1] = "[NOPE]";
  v.unk = -1;
  EXPECT_THROW(WordPieceTokenizer{v}, InputError);
}
