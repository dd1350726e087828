// Byte-level BPE (GGUF tokenizer.ggml.model = "gpt2"), as GPT-2 defines it:
//
//   text -> split on literal special tokens
//        -> each stretch cut into words by the pre-tokenizer regexes, run
//           in order, each cutting every piece into its matches and the
//           stretches between them (bpe_pre_tokenizer.h)
//        -> each word's bytes shown as characters (byte_unicode.h)
//        -> repeatedly apply the merge of lowest rank among adjacent symbol
//           pairs (ties: leftmost), ranks being positions in the merge list
//        -> each final symbol is a vocabulary token.
#pragma once
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "tokenizer/regex_splitter.h"
#include "tokenizer/typed_vocab_tokenizer.h"

namespace peft {

// The GPT-2 pre-tokenizer: contractions, letters, digits, other symbols,
// each optionally after one space; runs of whitespace.
extern const char* const kGpt2SplitRegex;

struct BpeVocab {
  std::vector<std::string> tokens;  // byte-mapped text
  std::vector<int32_t> types;       // TokenType values; empty: all Normal
  std::vector<std::string> merges;  // "left right", highest priority first
  // Oniguruma spelling (as tokenizer.json writes them); see to_pcre2().
  std::vector<std::string> split_regexes = {kGpt2SplitRegex};
  // A word that is itself a token is emitted as it is, unmerged.
  bool ignore_merges = false;
  std::string name = "gpt-2";       // the pre-tokenizer, for summary()
  int32_t bos = -1, eos = -1, unk = -1;
  bool add_bos = false;
  bool add_eos = false;
};

class BpeTokenizer : public TypedVocabTokenizer {
 public:
  // Throws "[tokenizer] ..." on inconsistent arrays or a bad regex. Merges
  // naming tokens that are not in the vocabulary are ignored (they could
  // never apply).
  explicit BpeTokenizer(BpeVocab vocab);

  std::vector<int32_t> encode(std::string_view text, bool add_special) const override;
  std::string decode(const std::vector<int32_t>& ids, bool skip_special = true) const override;
  int32_t bos_id() const override { return v_.bos; }
  int32_t eos_id() const override { return v_.eos; }
  bool adds_bos() const override { return v_.add_bos && v_.bos >= 0; }
  std::string summary() const override;

 private:
  struct Merge {
    int32_t rank;
    int32_t result;
  };
  void encode_word(std::string_view word, std::vector<int32_t>& out) const;

  BpeVocab v_;  // tokens and types moved into the base
  std::unordered_map<uint64_t, Merge> merges_;  // (left id << 32 | right id) -> rank, merged id
  std::unique_ptr<RegexSequenceSplitter> splitter_;
};

}  // namespace peft
