// Regular expressions of tokenizer.json (Split pre-tokenizer, Replace
// normalizer and decoder) through PCRE2 in UTF + UCP mode, so \p{L}, \p{N},
// \s and look-ahead mean what they mean in the Oniguruma engine Hugging
// Face uses; the few spellings PCRE2 reads differently (\w, \s, long
// category names such as \p{Letter}) are rewritten first (regex.cpp).
#pragma once
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace peft::hf {

struct Span {
  size_t begin = 0;
  size_t end = 0;
};

class Regex {
 public:
  // Throws FormatError when PCRE2 rejects the pattern.
  explicit Regex(const std::string& pattern);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Appends the leftmost non-overlapping matches of `s` (valid UTF-8), left
  // to right. After an empty match the search resumes one character later.
  void find_all(std::string_view s, std::vector<Span>& out) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Byte offsets of each occurrence of `needle` (non-overlapping, left to
// right); an empty needle matches nothing.
void find_literal(std::string_view s, std::string_view needle, std::vector<Span>& out);

}  // namespace peft::hf
