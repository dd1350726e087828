// SentencePiece-style BPE over scored pieces (GGUF tokenizer.ggml.model =
// "llama"), with byte fallback, following the algorithm llama.cpp uses:
//
//   text -> spaces become U+2581 "▁", "▁" prepended (add_space_prefix)
//        -> one symbol per UTF-8 character
//        -> repeatedly merge the adjacent pair whose concatenation is a
//           vocabulary piece with the highest score (ties: leftmost pair)
//        -> each final symbol is its piece, or if it is not in the
//           vocabulary, one <0xNN> byte token per byte (unk without those).
#pragma once
#include <string>
#include <unordered_map>
#include <vector>

#include "tokenizer/typed_vocab_tokenizer.h"

namespace peft {

// Everything the SentencePiece model needs, independent of the file it came from.
struct SpmVocab {
  std::vector<std::string> tokens;
  std::vector<float> scores;    // empty: all 0
  std::vector<int32_t> types;   // TokenType values; empty: all Normal
  int32_t bos = -1, eos = -1, unk = -1;
  bool add_bos = true;
  bool add_eos = false;
  bool add_space_prefix = true;
};

class SpmTokenizer : public TypedVocabTokenizer {
 public:
  // Throws "[tokenizer] ..." when the arrays disagree in length or an id is
  // out of range.
  explicit SpmTokenizer(SpmVocab vocab);

  std::vector<int32_t> encode(std::string_view text, bool add_special) const override;
  std::string decode(const std::vector<int32_t>& ids, bool skip_special = true) const override;
  int32_t bos_id() const override { return v_.bos; }
  int32_t eos_id() const override { return v_.eos; }
  bool adds_bos() const override { return v_.add_bos && v_.bos >= 0; }
  std::string summary() const override;

 private:
  // Segments one raw stretch of text (already escaped) and appends its ids.
  void encode_piece(const std::string& escaped, std::vector<int32_t>& out) const;

  SpmVocab v_;  // tokens and types moved into the base
  int32_t byte_ids_[256];  // <0xNN> token of each byte, -1 when absent
};

}  // namespace peft
