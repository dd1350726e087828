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
