#include "tokenizer/byte_tokenizer.h"

#include "core/error.h"

namespace peft {

std::vector<int32_t> ByteTokenizer::encode(std::string_view text, bool add_special) const {
  std::vector<int32_t> ids;
  ids.reserve(text.size() + 1);
  if (add_special) ids.push_back(kBos);
  for (unsigned char c : text) ids.push_back(c);
  return ids;
}

std::string ByteTokenizer::decode(const std::vector<int32_t>& ids, bool skip_special) const {
  std::string s;
  for (int32_t id : ids) {
    if (id < 0 || id >= vocab_size()) fail("tokenizer", "token id " + std::to_string(id) + " is outside the byte vocabulary");
    if (id < 256) s.push_back(static_cast<char>(id));
    else if (!skip_special) s += token_text(id);
  }
  return s;
}

std::string ByteTokenizer::token_text(int32_t id) const {
  if (id == kBos) return "<s>";
  if (id == kEos) return "</s>";
  if (id >= 0 && id < 256) return std::string(1, static_cast<char>(id));
  return "";
}

}  // namespace peft
