// Pre-tokenizers of tokenizer.json: they cut the normalized text into the
// pieces ("words") the model tokenizes one by one, and may rewrite them
// (ByteLevel maps bytes to characters, Metaspace spaces to "▁").
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "tokenizer/hf/json_util.h"
#include "tokenizer/hf/regex.h"

namespace peft::hf {

struct Piece {
  std::string text;
  // Begins at the first byte of the whole input; Metaspace with
  // prepend_scheme "first" only adds its "▁" to such a piece.
  bool at_start = false;
  // Empty, or (when offsets are asked for) for each byte of text the span
  // of the original input it stands for; pre-tokenizers keep it in step.
  std::vector<Span> align;
};

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  virtual void pre_tokenize(std::vector<Piece>& pieces) const = 0;
};

// From the "pre_tokenizer" object; null gives nullptr.
std::unique_ptr<PreTokenizer> make_pre_tokenizer(const Json& j);

// GPT-2's pre-tokenization regex, which ByteLevel uses when use_regex is set.
extern const char* const kGpt2Pattern;

}  // namespace peft::hf
