// WordPiece (GGUF tokenizer.ggml.model = "bert"), as BERT's uncased
// tokenizers do it:
//
//   text -> split on literal special tokens ([CLS], [SEP], ...)
//        -> clean (drop NUL, U+FFFD and control characters; any whitespace
//           becomes a space), put spaces around CJK ideographs, strip
//           accents (NFD, then drop nonspacing marks Mn), lowercase
//        -> words: split on whitespace, every punctuation character alone
//        -> each word: greedy longest-match-first over the vocabulary, later
//           pieces spelled "##piece"; a word with an unmatchable rest (or
//           over 100 characters) becomes [UNK] as a whole
//
// GGUF files store the same vocabulary the other way round (llama.cpp's
// converter): word-initial pieces as "▁piece", continuations bare. The two
// prefixes below say which spelling a vocabulary uses.
//        -> [CLS] ... [SEP] when add_special.
#pragma once
#include <string>
#include <unordered_map>
#include <vector>

#include "tokenizer/special_split.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab_types.h"

namespace peft {

struct WordPieceVocab {
  std::vector<std::string> tokens;
  std::vector<int32_t> types;  // TokenType values; empty: all Normal
  int32_t unk = -1, cls = -1, sep = -1;
  bool lowercase = true;
  bool strip_accents = true;
  bool add_cls = true;
  bool add_sep = true;
  size_t max_word_chars = 100;
  std::string word_prefix;                   // "" (HF) or "▁" (GGUF)
  std::string continuation_prefix = "##";    // "##" (HF) or "" (GGUF)
};

class WordPieceTokenizer : public Tokenizer {
 public:
  // Throws "[tokenizer] ..." on inconsistent arrays or a missing [UNK].
  explicit WordPieceTokenizer(WordPieceVocab vocab);

  std::vector<int32_t> encode(std::string_view text, bool add_special) const override;
  // Tokens joined by spaces, "##" pieces glued to the one before, then the
  // HF clean-up of spaces before punctuation and in English contractions.
  // Unlike the other decoders this is not prefix-stable (" ' " collapses
  // only once the next token is there), so streamed BERT output may differ.
  std::string decode(const std::vector<int32_t>& ids, bool skip_special = true) const override;
  int32_t vocab_size() const override { return static_cast<int32_t>(v_.tokens.size()); }
  int32_t bos_id() const override { return v_.cls; }
  int32_t eos_id() const override { return v_.sep; }
  bool adds_bos() const override { return v_.add_cls && v_.cls >= 0; }
  std::string token_text(int32_t id) const override;
  bool is_special(int32_t id) const override;
  std::string summary() const override;

  void set_parse_special(bool on) { parse_special_ = on; }

  // The normalized words of a text (exposed for tests).
  std::vector<std::string> pre_tokenize(std::string_view text) const;

 private:
  TokenType type(int32_t id) const { return static_cast<TokenType>(v_.types[id]); }
  void encode_word(const std::string& word, std::vector<int32_t>& out) const;
  // A token's text without its prefix, and whether it starts a word.
  std::string_view display(int32_t id, bool& starts_word) const;

  WordPieceVocab v_;
  std::unordered_map<std::string, int32_t> ids_;
  SpecialSplitter split_all_, split_user_;
  bool parse_special_ = true;
};

}  // namespace peft
