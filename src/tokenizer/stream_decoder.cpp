#include <string_view>

#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"

namespace peft {

// Re-decodes the whole id list on every push: decoding is cheap next to a
// forward pass, and it keeps the output equal to decode(all ids) by
// construction (the leading-space rule and byte fusion live in one place).
// This relies on decode(ids[0..k]) being a prefix of decode(ids[0..k+1]),
// which holds because each token's text depends only on its position being
// first or not.
std::string StreamDecoder::push(int32_t id) {
  ids_.push_back(id);
  std::string text = tok_.decode(ids_);
  size_t ready = utf8_complete_prefix(text);
  // Decoders that follow Hugging Face (tokenizer.json's ByteFallback and
  // ByteLevel) turn the bytes of a character not yet complete into U+FFFD
  // instead of leaving them raw; hold trailing U+FFFD back too, as HF's own
  // DecodeStream does, so they can still become the character.
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
  while (ready >= emitted_ + kReplacement.size() &&
         std::string_view(text).substr(ready - kReplacement.size(), kReplacement.size()) == kReplacement)
    ready -= kReplacement.size();
  if (ready <= emitted_) return {};
  std::string out = text.substr(emitted_, ready - emitted_);
  emitted_ = ready;
  return out;
}

std::string StreamDecoder::flush() {
  std::string text = tok_.decode(ids_);
  std::string out = emitted_ < text.size() ? text.substr(emitted_) : std::string();
  emitted_ = text.size();
  return out;
}

}  // namespace peft
