// Splits text on literal occurrences of special tokens before a model's own
// algorithm runs, as llama.cpp and HF tokenizers do: a control or
// user-defined token written in the text becomes that token, and only the
// text between such matches is segmented.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace peft {

// One piece of the split: raw text to segment (token < 0), or a matched token.
struct TextPiece {
  std::string_view text;
  int32_t token = -1;
};

class SpecialSplitter {
 public:
  SpecialSplitter() = default;
  // (text, id) pairs; empty texts are ignored. Longer tokens are matched
  // first, so "<|im_start|>" wins over a shorter token it contains.
  explicit SpecialSplitter(std::vector<std::pair<std::string, int32_t>> tokens);

  bool empty() const { return tokens_.empty(); }
  // The pieces of `text` in order (views into `text`); no empty raw pieces.
  std::vector<TextPiece> split(std::string_view text) const;

 private:
  std::vector<std::pair<std::string, int32_t>> tokens_;  // longest first
};

}  // namespace peft
