#include "tokenizer/special_split.h"

#include <algorithm>

namespace peft {

SpecialSplitter::SpecialSplitter(std::vector<std::pair<std::string, int32_t>> tokens) {
  for (auto& t : tokens)
    if (!t.first.empty()) tokens_.push_back(std::move(t));
  // Stable so equal-length tokens keep vocabulary order: deterministic.
  std::stable_sort(tokens_.begin(), tokens_.end(),
                   [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
}

std::vector<TextPiece> SpecialSplitter::split(std::string_view text) const {
  std::vector<TextPiece> pieces;
  if (text.empty()) return pieces;
  pieces.push_back({text, -1});
  // One pass per special token over the raw pieces left by the longer ones.
  for (const auto& [tok, id] : tokens_) {
    std::vector<TextPiece> next;
    next.reserve(pieces.size());
    for (const TextPiece& p : pieces) {
      if (p.token >= 0) {
        next.push_back(p);
        continue;
      }
      size_t start = 0;
      while (start < p.text.size()) {
        size_t hit = p.text.find(tok, start);
        if (hit == std::string_view::npos) break;
        if (hit > start) next.push_back({p.text.substr(start, hit - start), -1});
        next.push_back({p.text.substr(hit, tok.size()), id});
        start = hit + tok.size();
      }
      if (start < p.text.size()) next.push_back({p.text.substr(start), -1});
    }
    pieces.swap(next);
  }
  return pieces;
}

}  // namespace peft
