// Decoders of tokenizer.json: they turn the token strings of a sequence of
// ids back into text (bytes from byte-level characters, "▁" back to ' ',
// "##" continuations glued, <0xHH> tokens reassembled into UTF-8). Each
// works on the list of token strings; the text is their concatenation.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "tokenizer/hf/json_util.h"

namespace peft::hf {

class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual void decode_chain(std::vector<std::string>& tokens) const = 0;
};

// From the "decoder" object; null gives nullptr.
std::unique_ptr<Decoder> make_decoder(const Json& j);

// The spacing clean-up of the WordPiece and CTC decoders: " ." -> ".",
// " n't" -> "n't", ... (with_do_not: also " do not" -> " don't", which
// transformers' Python version of it lacks).
std::string cleanup_spaces(std::string s, bool with_do_not);

}  // namespace peft::hf
