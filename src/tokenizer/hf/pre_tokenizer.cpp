#include "tokenizer/hf/pre_tokenizer.h"

#include "tokenizer/hf/byte_level.h"
#include "tokenizer/hf/pattern.h"
#include "tokenizer/hf/split.h"
#include "tokenizer/hf/unicode.h"

namespace peft::hf {

const char* const kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

namespace {

// Inserts `prefix` at the start of a piece; it points to the first
// character (HF's prepend).
void prepend(Piece& p, const std::string& prefix) {
  if (!p.align.empty()) p.align.insert(p.align.begin(), prefix.size(), p.align.front());
  p.text.insert(0, prefix);
}

// Replaces each piece by its sub-pieces `spans_of(text)` returns. A
// sub-piece keeps at_start only when it begins where its parent began.
template <typename SpansOf>
void split_pieces(std::vector<Piece>& pieces, SpansOf spans_of) {
  std::vector<Piece> out;
  out.reserve(pieces.size() * 2);
  for (Piece& p : pieces) {
    const std::vector<Span> spans = spans_of(p.text);
    for (const Span& s : spans) {
      Piece q{p.text.substr(s.begin, s.end - s.begin), p.at_start && s.begin == 0, {}};
      if (!p.align.empty()) q.align.assign(p.align.begin() + s.begin, p.align.begin() + s.end);
      out.push_back(std::move(q));
    }
  }
  pieces.swap(out);
}

template <typename Pred>
void split_chars(std::vector<Piece>& pieces, Pred pred, SplitBehavior behavior) {
  split_pieces(pieces, [&](const std::string& text) {
    std::vector<Span> matches;
    find_chars(text, pred, matches);
    return split_spans(text.size(), matches, behavior, false);
  });
}

class SequencePreTokenizer : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> parts) : parts_(std::move(parts)) {}
  void pre_tokenize(std::vector<Piece>& pieces) const override {
    for (const auto& p : parts_) p->pre_tokenize(pieces);
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> parts_;
};

class ByteLevelPreTokenizer : public PreTokenizer {
 public:
  ByteLevelPreTokenizer(bool add_prefix_space, bool use_regex)
      : add_prefix_space_(add_prefix_space), regex_(use_regex ? std::make_unique<Regex>(kGpt2Pattern) : nullptr) {}

  void pre_tokenize(std::vector<Piece>& pieces) const override {
    if (add_prefix_space_) {
      for (Piece& p : pieces)
        if (p.text.empty() || p.text[0] != ' ') prepend(p, " ");
    }
    if (regex_) {
      split_pieces(pieces, [&](const std::string& text) {
        std::vector<Span> matches;
        regex_->find_all(text, matches);
        return split_spans(text.size(), matches, SplitBehavior::kIsolated, false);
      });
    }
    for (Piece& p : pieces) {
      if (!p.align.empty()) {
        // Each byte becomes one character of one or two bytes.
        std::vector<Span> align;
        align.reserve(p.text.size() * 2);
        for (size_t k = 0; k < p.text.size(); ++k)
          align.insert(align.end(), byte_to_char(static_cast<uint8_t>(p.text[k])).size(), p.align[k]);
        p.align.swap(align);
      }
      p.text = bytes_to_chars(p.text);
    }
  }

 private:
  bool add_prefix_space_;
  std::unique_ptr<Regex> regex_;
};

class SplitPreTokenizer : public PreTokenizer {
 public:
  SplitPreTokenizer(Pattern pattern, SplitBehavior behavior, bool invert)
      : pattern_(std::move(pattern)), behavior_(behavior), invert_(invert) {}

  void pre_tokenize(std::vector<Piece>& pieces) const override {
    split_pieces(pieces, [&](const std::string& text) {
      std::vector<Span> matches;
      pattern_.find(text, matches);
      return split_spans(text.size(), matches, behavior_, invert_);
    });
  }

 private:
  Pattern pattern_;
  SplitBehavior behavior_;
  bool invert_;
};

enum class PrependScheme { kAlways, kFirst, kNever };

// SentencePiece's view of spaces: ' ' becomes the replacement (normally
// "▁"), a replacement is prepended per the scheme, and with `split` each
// piece is cut before every replacement.
class MetaspacePreTokenizer : public PreTokenizer {
 public:
  MetaspacePreTokenizer(std::string replacement, PrependScheme scheme, bool split)
      : replacement_(std::move(replacement)), scheme_(scheme), split_(split) {}

  void pre_tokenize(std::vector<Piece>& pieces) const override {
    for (Piece& p : pieces) {
      if (!p.align.empty()) {
        std::vector<Span> align;
        align.reserve(p.text.size() + 8);
        for (size_t k = 0; k < p.text.size(); ++k)
          align.insert(align.end(), p.text[k] == ' ' ? replacement_.size() : 1, p.align[k]);
        p.align.swap(align);
      }
      p.text = Pattern::literal(" ").replace_all(p.text, replacement_);
      const bool starts = p.text.compare(0, replacement_.size(), replacement_) == 0;
      if (!starts && (scheme_ == PrependScheme::kAlways || (scheme_ == PrependScheme::kFirst && p.at_start))) {
        if (p.text.empty()) p.text.insert(0, replacement_);  // as before; no character to point to
        else prepend(p, replacement_);
      }
    }
    if (split_) {
      split_pieces(pieces, [&](const std::string& text) {
        std::vector<Span> matches;
        find_literal(text, replacement_, matches);
        return split_spans(text.size(), matches, SplitBehavior::kMergedWithNext, false);
      });
    }
  }

 private:
  std::string replacement_;
  PrependScheme scheme_;
  bool split_;
};

class WhitespacePreTokenizer : public PreTokenizer {
 public:
  // \w+|[^\w\s]+ with \w as Rust's regex crate defines it (Alphabetic,
  // marks, decimal digits, connector punctuation, ZWNJ/ZWJ), which is what
  // HF's Whitespace runs; PCRE2 and Oniguruma draw \w differently.
  WhitespacePreTokenizer()
      : regex_(R"([\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\x{200C}\x{200D}]+|[^\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\x{200C}\x{200D}\s]+)") {}
  void pre_tokenize(std::vector<Piece>& pieces) const override {
    split_pieces(pieces, [&](const std::string& text) {
      std::vector<Span> matches;
      regex_.find_all(text, matches);
      return split_spans(text.size(), matches, SplitBehavior::kRemoved, true);
    });
  }

 private:
  Regex regex_;
};

class WhitespaceSplitPreTokenizer : public PreTokenizer {
 public:
  void pre_tokenize(std::vector<Piece>& pieces) const override {
    split_chars(pieces, is_whitespace, SplitBehavior::kRemoved);
  }
};

class BertPreTokenizer : public PreTokenizer {
 public:
  void pre_tokenize(std::vector<Piece>& pieces) const override {
    split_chars(pieces, is_whitespace, SplitBehavior::kRemoved);
    split_chars(pieces, is_bert_punctuation, SplitBehavior::kIsolated);
  }
};

class PunctuationPreTokenizer : public PreTokenizer {
 public:
  explicit PunctuationPreTokenizer(SplitBehavior behavior) : behavior_(behavior) {}
  void pre_tokenize(std::vector<Piece>& pieces) const override {
    split_chars(pieces, is_bert_punctuation, behavior_);
  }

 private:
  SplitBehavior behavior_;
};

class DigitsPreTokenizer : public PreTokenizer {
 public:
  explicit DigitsPreTokenizer(bool individual) : individual_(individual) {}
  void pre_tokenize(std::vector<Piece>& pieces) const override {
    split_chars(pieces, is_numeric, individual_ ? SplitBehavior::kIsolated : SplitBehavior::kContiguous);
  }

 private:
  bool individual_;
};

class CharDelimiterPreTokenizer : public PreTokenizer {
 public:
  explicit CharDelimiterPreTokenizer(uint32_t delimiter) : delimiter_(delimiter) {}
  void pre_tokenize(std::vector<Piece>& pieces) const override {
    split_chars(pieces, [&](uint32_t cp) { return cp == delimiter_; }, SplitBehavior::kRemoved);
  }

 private:
  uint32_t delimiter_;
};

// Cuts where the Unicode script changes. As in HF, Hiragana, Katakana and
// U+30FC count as Han, and a character with no script (a space, say; see
// script_of) stays with the text before it; such characters before the
// first one with a script are dropped (HF's first cut is at that one).
class UnicodeScriptsPreTokenizer : public PreTokenizer {
 public:
  void pre_tokenize(std::vector<Piece>& pieces) const override {
    split_pieces(pieces, [](const std::string& text) {
      std::vector<Span> out;
      int last = -1;  // no script seen yet
      size_t start = std::string::npos;
      size_t i = 0;
      while (i < text.size()) {
        const size_t b = i;
        const int script = script_of(next_cp(text, i));
        if (script == kNoScript) continue;
        if (script != last) {
          if (start != std::string::npos) out.push_back({start, b});
          start = b;
        }
        last = script;
      }
      if (start != std::string::npos) out.push_back({start, text.size()});
      return out;
    });
  }
};

}  // namespace

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const Json& j) {
  if (j.is_null()) return nullptr;
  const std::string where = "pre_tokenizer";
  const std::string type = type_of(j, where);
  const std::string at = where + " " + type;
  if (type == "Sequence") {
    const NestingGuard guard(at);
    const Json& list = require(j, "pretokenizers", at);
    if (!list.is_array()) bad_format(at + ": \"pretokenizers\" is not an array");
    std::vector<std::unique_ptr<PreTokenizer>> parts;
    for (const Json& item : list) {
      auto p = make_pre_tokenizer(item);
      if (p) parts.push_back(std::move(p));
    }
    return std::make_unique<SequencePreTokenizer>(std::move(parts));
  }
  if (type == "ByteLevel") {
    return std::make_unique<ByteLevelPreTokenizer>(opt_bool(j, "add_prefix_space", true, at),
                                                   opt_bool(j, "use_regex", true, at));
  }
  if (type == "Split") {
    return std::make_unique<SplitPreTokenizer>(Pattern::from_json(require(j, "pattern", at), at),
                                               parse_split_behavior(require_string(j, "behavior", at)),
                                               opt_bool(j, "invert", false, at));
  }
  if (type == "Metaspace") {
    const std::string replacement = opt_string(j, "replacement", "\xE2\x96\x81", at);
    if (replacement.empty() || cp_count(replacement) != 1) bad_format(at + ": replacement must be one character");
    PrependScheme scheme = PrependScheme::kAlways;
    if (j.contains("prepend_scheme") && !j.at("prepend_scheme").is_null()) {
      const std::string s = require_string(j, "prepend_scheme", at);
      if (s == "always") scheme = PrependScheme::kAlways;
      else if (s == "first") scheme = PrependScheme::kFirst;
      else if (s == "never") scheme = PrependScheme::kNever;
      else bad_format(at + ": unknown prepend_scheme '" + s + "'");
    } else if (!opt_bool(j, "add_prefix_space", true, at)) {
      scheme = PrependScheme::kNever;  // files older than prepend_scheme
    }
    return std::make_unique<MetaspacePreTokenizer>(replacement, scheme, opt_bool(j, "split", true, at));
  }
  if (type == "Whitespace") return std::make_unique<WhitespacePreTokenizer>();
  if (type == "WhitespaceSplit") return std::make_unique<WhitespaceSplitPreTokenizer>();
  if (type == "BertPreTokenizer") return std::make_unique<BertPreTokenizer>();
  if (type == "Punctuation") {
    return std::make_unique<PunctuationPreTokenizer>(
        parse_split_behavior(opt_string(j, "behavior", "Isolated", at)));
  }
  if (type == "Digits") return std::make_unique<DigitsPreTokenizer>(opt_bool(j, "individual_digits", false, at));
  if (type == "UnicodeScripts") return std::make_unique<UnicodeScriptsPreTokenizer>();
  if (type == "CharDelimiterSplit") {
    const std::string d = require_string(j, "delimiter", at);
    if (d.empty() || cp_count(d) != 1) bad_format(at + ": delimiter must be one character");
    size_t i = 0;
    return std::make_unique<CharDelimiterPreTokenizer>(next_cp(d, i));
  }
  bad_format("unknown pre_tokenizer type '" + type + "'");
}

}  // namespace peft::hf
