#include "tokenizer/typed_vocab_tokenizer.h"

#include <utility>

#include "core/error.h"

namespace peft {

void TypedVocabTokenizer::set_tokens(std::vector<std::string> tokens, std::vector<int32_t> types) {
  const size_t n = tokens.size();
  if (types.empty()) types.assign(n, static_cast<int32_t>(TokenType::Normal));
  if (types.size() != n)
    fail("tokenizer", "token_type has " + std::to_string(types.size()) + " entries for " + std::to_string(n) + " tokens");
  for (auto& t : types) t = static_cast<int32_t>(token_type_from_int(t));
  tokens_ = std::move(tokens);
  types_ = std::move(types);

  ids_.clear();
  ids_.reserve(n);
  std::vector<std::pair<std::string, int32_t>> all, user;
  for (size_t i = 0; i < n; ++i) {
    int32_t id = static_cast<int32_t>(i);
    ids_[tokens_[i]] = id;
    TokenType t = type(id);
    if (t == TokenType::Control || t == TokenType::Unknown || t == TokenType::UserDefined)
      all.emplace_back(tokens_[i], id);
    if (t == TokenType::UserDefined) user.emplace_back(tokens_[i], id);
  }
  split_all_ = SpecialSplitter(std::move(all));
  split_user_ = SpecialSplitter(std::move(user));
}

std::string TypedVocabTokenizer::token_text(int32_t id) const {
  if (id < 0 || id >= vocab_size()) fail("tokenizer", "token id " + std::to_string(id) + " is out of range");
  return tokens_[id];
}

bool TypedVocabTokenizer::is_special(int32_t id) const {
  if (id < 0 || id >= vocab_size()) return false;
  TokenType t = type(id);
  return t == TokenType::Control || t == TokenType::Unknown;
}

void TypedVocabTokenizer::check_decode_id(int32_t id) const {
  if (id < 0 || id >= vocab_size())
    fail("tokenizer", "token id " + std::to_string(id) + " is out of range (vocabulary of " + std::to_string(vocab_size()) + ")");
}

}  // namespace peft
