#include "tokenizer/hf/vocab.h"

namespace peft::hf {

Vocab Vocab::from_json(const Json& j, const std::string& where) {
  if (!j.is_object()) bad_format(where + ": \"vocab\" is not an object of token -> id");
  Vocab v;
  v.ids_.reserve(j.size());
  int64_t max_id = -1;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!it.value().is_number_integer()) bad_format(where + ": id of token '" + it.key() + "' is not an integer");
    const int64_t id = it.value().get<int64_t>();
    // Ids index a table; a few million is far beyond any real vocabulary.
    if (id < 0 || id > (1 << 24)) bad_format(where + ": token '" + it.key() + "' has id " + std::to_string(id) + " out of range");
    max_id = std::max(max_id, id);
    v.ids_.insert(it.key(), static_cast<int32_t>(id));
  }
  // Real vocabularies number their tokens 0..n-1 (a few gaps at most); a
  // table sized by a stray huge id would be an easy way to exhaust memory.
  if (max_id >= static_cast<int64_t>(v.ids_.size()) * 2 + 1024)
    bad_format(where + ": ids run up to " + std::to_string(max_id) + " for only " + std::to_string(v.ids_.size()) + " tokens");
  v.tokens_.resize(static_cast<size_t>(max_id + 1));
  v.present_.assign(static_cast<size_t>(max_id + 1), false);
  for (size_t k = 0; k < v.ids_.size(); ++k) {
    const int32_t id = v.ids_.value_at(k);
    if (v.present_[id]) bad_format(where + ": id " + std::to_string(id) + " is given to two tokens");
    v.tokens_[id] = v.ids_.key_at(k);
    v.present_[id] = true;
  }
  return v;
}

}  // namespace peft::hf
