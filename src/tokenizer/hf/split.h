// How a pre-tokenizer turns the matches of a pattern into pieces: the five
// SplitDelimiterBehavior values of Hugging Face tokenizers, plus `invert`
// (the matches become the gaps and the gaps the matches).
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/hf/regex.h"

namespace peft::hf {

enum class SplitBehavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

// Parses "Removed", "Isolated", ... ; throws FormatError otherwise.
SplitBehavior parse_split_behavior(const std::string& name);

// `matches`: sorted, non-overlapping spans inside [0, len). Returns the
// non-empty pieces, in order, that the behaviour keeps.
std::vector<Span> split_spans(size_t len, const std::vector<Span>& matches, SplitBehavior behavior,
                              bool invert);

// Each character for which pred(cp) holds is its own match.
template <typename Pred>
void find_chars(std::string_view s, Pred pred, std::vector<Span>& out);

}  // namespace peft::hf

#include "tokenizer/hf/unicode.h"

namespace peft::hf {

template <typename Pred>
void find_chars(std::string_view s, Pred pred, std::vector<Span>& out) {
  size_t i = 0;
  while (i < s.size()) {
    const size_t b = i;
    const uint32_t cp = next_cp(s, i);
    if (pred(cp)) out.push_back({b, i});
  }
}

}  // namespace peft::hf
