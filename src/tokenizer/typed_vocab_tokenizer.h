// What the GGUF-style tokenizers share that does not depend on how they cut
// text into pieces: a list of pieces, each with a TokenType (GGUF
// tokenizer.ggml.tokens + token_type), the piece -> id map, splitting of
// special tokens written in the input, decoding checks, and the Tokenizer
// queries the list answers by itself. BpeTokenizer and SpmTokenizer derive
// from it.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/special_split.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab_types.h"

namespace peft {

class TypedVocabTokenizer : public Tokenizer {
 public:
  int32_t vocab_size() const override { return static_cast<int32_t>(tokens_.size()); }
  std::string token_text(int32_t id) const override;
  // Control and unknown tokens (user-defined ones are ordinary text).
  bool is_special(int32_t id) const override;

  // Whether control tokens written literally in the text become those
  // tokens (user-defined ones always do). Default true, as HF tokenizers do.
  void set_parse_special(bool on) { parse_special_ = on; }

  // The id of a piece, or -1.
  int32_t find(std::string_view piece) const { return lookup(std::string(piece)); }

 protected:
  // Takes the pieces and their TokenType values (empty: all Normal; values
  // outside the enum read as Normal). Throws "[tokenizer] token_type has N
  // entries for M tokens" when the lengths differ. A piece listed twice maps
  // to its last id, as in llama.cpp.
  void set_tokens(std::vector<std::string> tokens, std::vector<int32_t> types);

  const std::string& text(int32_t id) const { return tokens_[id]; }
  TokenType type(int32_t id) const { return static_cast<TokenType>(types_[id]); }
  // find() without building a new string, for the encoders' inner loops.
  int32_t lookup(const std::string& piece) const {
    auto it = ids_.find(piece);
    return it == ids_.end() ? -1 : it->second;
  }
  // Throws "[tokenizer] token id N is out of range (vocabulary of M)".
  void check_decode_id(int32_t id) const;
  // The input cut at special tokens written in it: control, unknown and
  // user-defined ones, or user-defined ones only without parse_special.
  std::vector<TextPiece> split_special(std::string_view text) const {
    return (parse_special_ ? split_all_ : split_user_).split(text);
  }

 private:
  std::vector<std::string> tokens_;
  std::vector<int32_t> types_;  // TokenType values, one per token
  std::unordered_map<std::string, int32_t> ids_;
  SpecialSplitter split_all_;   // control + unknown + user-defined
  SpecialSplitter split_user_;  // user-defined only
  bool parse_special_ = true;
};

}  // namespace peft
