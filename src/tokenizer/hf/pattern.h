// The pattern object of Split, Replace and the Replace decoder:
// {"String": "literal"} or {"Regex": "expression"}.
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/hf/json_util.h"
#include "tokenizer/hf/regex.h"

namespace peft::hf {

class Pattern {
 public:
  static Pattern from_json(const Json& j, const std::string& where);
  static Pattern literal(std::string text);

  // Appends the non-overlapping matches in `s`, left to right.
  void find(std::string_view s, std::vector<Span>& out) const;
  // Every match replaced by `content` (taken literally).
  std::string replace_all(std::string_view s, std::string_view content) const;

 private:
  std::string literal_;
  std::shared_ptr<Regex> regex_;  // set for {"Regex": ...}
};

}  // namespace peft::hf
