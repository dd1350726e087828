// A string <-> id table for the models whose tokenizer.json vocabulary is an
// object {"token": id} (BPE, WordPiece). Ids may have gaps.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/hf/json_util.h"
#include "tokenizer/hf/string_map.h"

namespace peft::hf {

class Vocab {
 public:
  // From {"token": id, ...}; throws FormatError for negative or huge ids and
  // for two tokens sharing an id.
  static Vocab from_json(const Json& j, const std::string& where);

  int32_t find(std::string_view token) const { return ids_.find(token); }
  const std::string* token(int32_t id) const {
    if (id < 0 || static_cast<size_t>(id) >= tokens_.size() || !present_[id]) return nullptr;
    return &tokens_[id];
  }
  int32_t size() const { return static_cast<int32_t>(tokens_.size()); }

 private:
  StringIdMap ids_;
  std::vector<std::string> tokens_;
  std::vector<bool> present_;
};

}  // namespace peft::hf
