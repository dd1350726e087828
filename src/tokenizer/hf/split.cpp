#include "tokenizer/hf/split.h"

#include "tokenizer/hf/format_error.h"

namespace peft::hf {

SplitBehavior parse_split_behavior(const std::string& name) {
  if (name == "Removed") return SplitBehavior::kRemoved;
  if (name == "Isolated") return SplitBehavior::kIsolated;
  if (name == "MergedWithPrevious") return SplitBehavior::kMergedWithPrevious;
  if (name == "MergedWithNext") return SplitBehavior::kMergedWithNext;
  if (name == "Contiguous") return SplitBehavior::kContiguous;
  bad_format("unknown split behavior '" + name + "'");
}

namespace {

struct Marked {
  Span span;
  bool is_match;
};

}  // namespace

std::vector<Span> split_spans(size_t len, const std::vector<Span>& matches, SplitBehavior behavior,
                              bool invert) {
  // The whole string as alternating gap / match spans.
  std::vector<Marked> marked;
  marked.reserve(matches.size() * 2 + 1);
  size_t prev = 0;
  for (const Span& m : matches) {
    if (m.begin > prev) marked.push_back({{prev, m.begin}, invert});
    marked.push_back({m, !invert});
    prev = m.end;
  }
  if (prev < len) marked.push_back({{prev, len}, invert});

  std::vector<Span> out;
  out.reserve(marked.size());
  switch (behavior) {
    case SplitBehavior::kRemoved:
      for (const Marked& m : marked)
        if (!m.is_match) out.push_back(m.span);
      break;
    case SplitBehavior::kIsolated:
      for (const Marked& m : marked) out.push_back(m.span);
      break;
    case SplitBehavior::kMergedWithPrevious: {
      // A match joins the piece before it, unless that piece is a match too.
      bool previous_match = false;
      for (const Marked& m : marked) {
        if (m.is_match && !previous_match && !out.empty()) {
          out.back().end = m.span.end;
        } else {
          out.push_back(m.span);
        }
        previous_match = m.is_match;
      }
      break;
    }
    case SplitBehavior::kMergedWithNext: {
      // Mirror image: walk backwards, a match joins the piece after it.
      bool previous_match = false;
      for (size_t k = marked.size(); k-- > 0;) {
        const Marked& m = marked[k];
        if (m.is_match && !previous_match && !out.empty()) {
          out.back().begin = m.span.begin;
        } else {
          out.push_back(m.span);
        }
        previous_match = m.is_match;
      }
      std::vector<Span>(out.rbegin(), out.rend()).swap(out);
      break;
    }
    case SplitBehavior::kContiguous: {
      bool previous_match = false;
      bool first = true;
      for (const Marked& m : marked) {
        if (!first && m.is_match == previous_match) {
          out.back().end = m.span.end;
        } else {
          out.push_back(m.span);
        }
        previous_match = m.is_match;
        first = false;
      }
      break;
    }
  }
  std::vector<Span> nonempty;
  nonempty.reserve(out.size());
  for (const Span& s : out)
    if (s.end > s.begin) nonempty.push_back(s);
  return nonempty;
}

}  // namespace peft::hf
