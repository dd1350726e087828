#include "tokenizer/hf/normalizer.h"

#include <vector>

#include "tokenizer/hf/byte_level.h"
#include "tokenizer/hf/pattern.h"
#include "tokenizer/hf/unicode.h"

namespace peft::hf {

// Runs the normalizer on each cluster (a character and the combining marks
// after it, so that NFC can compose) and lines the output up with the input
// as HF's transform does: output character j points to input character j;
// extra output characters point to the last input character; input
// characters with no counterpart are dropped.
void Normalizer::normalize_aligned(AlignedText& t) const {
  std::string whole = t.text;
  normalize(whole);
  AlignedText out;
  out.text.reserve(whole.size());
  out.align.reserve(whole.size());
  std::string cluster;
  std::vector<Span> in_chars;  // original span of each input character
  size_t i = 0;
  while (i < t.text.size()) {
    const size_t b = i;
    in_chars.clear();
    size_t k = i;
    next_cp(t.text, k);
    in_chars.push_back({t.align[i].begin, t.align[k - 1].end});
    i = k;
    while (i < t.text.size()) {
      size_t j = i;
      if (!is_mark(next_cp(t.text, j))) break;
      in_chars.push_back({t.align[i].begin, t.align[j - 1].end});
      i = j;
    }
    cluster.assign(t.text, b, i - b);
    normalize(cluster);
    size_t c = 0;
    size_t n = 0;
    while (c < cluster.size()) {
      const size_t cb = c;
      next_cp(cluster, c);
      const Span& s = in_chars[std::min(n, in_chars.size() - 1)];
      out.align.insert(out.align.end(), c - cb, s);
      ++n;
    }
    out.text += cluster;
  }
  if (out.text == whole) {
    t = std::move(out);
    return;
  }
  Span all{0, 0};
  if (!t.align.empty()) {
    all = t.align.front();
    for (const Span& s : t.align) {
      all.begin = std::min(all.begin, s.begin);
      all.end = std::max(all.end, s.end);
    }
  }
  t.text = std::move(whole);
  t.align.assign(t.text.size(), all);
}

namespace {

class SequenceNormalizer : public Normalizer {
 public:
  explicit SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> parts) : parts_(std::move(parts)) {}
  void normalize(std::string& text) const override {
    for (const auto& p : parts_) p->normalize(text);
  }
  void normalize_aligned(AlignedText& t) const override {
    for (const auto& p : parts_) p->normalize_aligned(t);
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> parts_;
};

class FormNormalizer : public Normalizer {
 public:
  explicit FormNormalizer(NormForm form) : form_(form) {}
  void normalize(std::string& text) const override { text = normalize_form(text, form_); }

 private:
  NormForm form_;
};

class LowercaseNormalizer : public Normalizer {
 public:
  void normalize(std::string& text) const override { text = lowercase(text); }
};

// Drops the characters `drop` selects: nonspacing marks (Mn) for BERT's
// strip_accents, all marks (Mn Mc Me) for StripAccents; meaningful after
// NFD/NFKD.
template <typename Pred>
std::string drop_marks(std::string_view s, Pred drop) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const size_t b = i;
    const uint32_t cp = next_cp(s, i);
    if (!drop(cp)) out.append(s.substr(b, i - b));
  }
  return out;
}

class StripAccentsNormalizer : public Normalizer {
 public:
  void normalize(std::string& text) const override { text = drop_marks(text, is_mark); }
};

// BERT's cleaning: drop NUL, U+FFFD and control characters, turn whitespace
// into ' ', put spaces around CJK ideographs, strip accents (NFD then drop
// Mn) and lowercase. strip_accents = null follows lowercase.
class BertNormalizer : public Normalizer {
 public:
  BertNormalizer(bool clean, bool chinese, bool strip, bool lower)
      : clean_(clean), chinese_(chinese), strip_(strip), lower_(lower) {}

  void normalize(std::string& text) const override {
    if (clean_ || chinese_) {
      std::string out;
      out.reserve(text.size() + 8);
      size_t i = 0;
      while (i < text.size()) {
        const size_t b = i;
        const uint32_t cp = next_cp(text, i);
        if (clean_) {
          if (cp == 0 || cp == 0xFFFD || is_bert_control(cp)) continue;
          if (cp == '\t' || cp == '\n' || cp == '\r' || is_whitespace(cp)) {
            out.push_back(' ');
            continue;
          }
        }
        if (chinese_ && is_chinese_char(cp)) {
          out.push_back(' ');
          out.append(text, b, i - b);
          out.push_back(' ');
          continue;
        }
        out.append(text, b, i - b);
      }
      text.swap(out);
    }
    if (strip_) text = drop_marks(normalize_form(text, NormForm::kNfd), is_nonspacing_mark);
    if (lower_) text = lowercase(text);
  }

 private:
  bool clean_, chinese_, strip_, lower_;
};

class PrependNormalizer : public Normalizer {
 public:
  explicit PrependNormalizer(std::string prefix) : prefix_(std::move(prefix)) {}
  void normalize(std::string& text) const override {
    if (!text.empty()) text.insert(0, prefix_);  // an empty piece stays empty
  }
  // The prefix points to the first character, as in HF.
  void normalize_aligned(AlignedText& t) const override {
    if (t.text.empty()) return;
    t.text.insert(0, prefix_);
    t.align.insert(t.align.begin(), prefix_.size(), t.align.front());
  }

 private:
  std::string prefix_;
};

class ReplaceNormalizer : public Normalizer {
 public:
  ReplaceNormalizer(Pattern pattern, std::string content)
      : pattern_(std::move(pattern)), content_(std::move(content)) {}
  void normalize(std::string& text) const override { text = pattern_.replace_all(text, content_); }
  void normalize_aligned(AlignedText& t) const override {
    std::vector<Span> matches;
    pattern_.find(t.text, matches);
    if (matches.empty()) return;
    AlignedText out;
    size_t done = 0;
    for (const Span& m : matches) {
      out.text.append(t.text, done, m.begin - done);
      out.align.insert(out.align.end(), t.align.begin() + done, t.align.begin() + m.begin);
      out.text += content_;
      // As HF: the replacement counts as inserted after the match, so it
      // points where the match's last byte pointed.
      Span at{0, 0};
      if (m.end > 0) at = t.align[m.end - 1];
      out.align.insert(out.align.end(), content_.size(), at);
      done = m.end;
    }
    out.text.append(t.text, done, std::string::npos);
    out.align.insert(out.align.end(), t.align.begin() + done, t.align.end());
    t = std::move(out);
  }

 private:
  Pattern pattern_;
  std::string content_;
};

class StripNormalizer : public Normalizer {
 public:
  StripNormalizer(bool left, bool right) : left_(left), right_(right) {}
  void normalize(std::string& text) const override {
    const Span s = kept(text);
    text = text.substr(s.begin, s.end - s.begin);
  }
  void normalize_aligned(AlignedText& t) const override {
    const Span s = kept(t.text);
    t.text = t.text.substr(s.begin, s.end - s.begin);
    t.align = std::vector<Span>(t.align.begin() + s.begin, t.align.begin() + s.end);
  }

 private:
  Span kept(const std::string& text) const {
    size_t begin = 0;
    size_t end = text.size();
    if (left_) {
      while (begin < end) {
        size_t i = begin;
        if (!is_whitespace(next_cp(text, i))) break;
        begin = i;
      }
    }
    if (right_) {
      while (end > begin) {
        size_t b = end - 1;
        while (b > begin && (static_cast<uint8_t>(text[b]) & 0xC0) == 0x80) --b;
        size_t i = b;
        if (!is_whitespace(next_cp(text, i))) break;
        end = b;
      }
    }
    return {begin, end};
  }

  bool left_, right_;
};

// The NMT normalizer of SentencePiece models: drop some control characters
// and map other separators to a space.
class NmtNormalizer : public Normalizer {
 public:
  void normalize(std::string& text) const override {
    std::string out;
    out.reserve(text.size());
    size_t i = 0;
    while (i < text.size()) {
      const size_t b = i;
      const uint32_t cp = next_cp(text, i);
      if ((cp >= 0x1 && cp <= 0x8) || cp == 0xB || (cp >= 0xE && cp <= 0x1F) || cp == 0x7F ||
          cp == 0x8F || cp == 0x9F)
        continue;
      if (cp == 0x9 || cp == 0xA || cp == 0xC || cp == 0xD || cp == 0x1680 ||
          (cp >= 0x200B && cp <= 0x200F) || cp == 0x2028 || cp == 0x2029 || cp == 0x2581 ||
          cp == 0xFEFF || cp == 0xFFFD) {
        out.push_back(' ');
        continue;
      }
      out.append(text, b, i - b);
    }
    text.swap(out);
  }
};

class ByteLevelNormalizer : public Normalizer {
 public:
  void normalize(std::string& text) const override { text = bytes_to_chars(text); }
};

}  // namespace

std::unique_ptr<Normalizer> make_normalizer(const Json& j) {
  if (j.is_null()) return nullptr;
  const std::string where = "normalizer";
  const std::string type = type_of(j, where);
  const std::string at = where + " " + type;
  if (type == "Sequence") {
    const NestingGuard guard(at);
    const Json& list = require(j, "normalizers", at);
    if (!list.is_array()) bad_format(at + ": \"normalizers\" is not an array");
    std::vector<std::unique_ptr<Normalizer>> parts;
    for (const Json& item : list) {
      auto n = make_normalizer(item);
      if (n) parts.push_back(std::move(n));
    }
    return std::make_unique<SequenceNormalizer>(std::move(parts));
  }
  if (type == "NFC") return std::make_unique<FormNormalizer>(NormForm::kNfc);
  if (type == "NFD") return std::make_unique<FormNormalizer>(NormForm::kNfd);
  if (type == "NFKC") return std::make_unique<FormNormalizer>(NormForm::kNfkc);
  if (type == "NFKD") return std::make_unique<FormNormalizer>(NormForm::kNfkd);
  if (type == "Lowercase") return std::make_unique<LowercaseNormalizer>();
  if (type == "StripAccents") return std::make_unique<StripAccentsNormalizer>();
  if (type == "BertNormalizer") {
    const bool lower = opt_bool(j, "lowercase", true, at);
    return std::make_unique<BertNormalizer>(opt_bool(j, "clean_text", true, at),
                                            opt_bool(j, "handle_chinese_chars", true, at),
                                            opt_bool(j, "strip_accents", lower, at), lower);
  }
  if (type == "Prepend") return std::make_unique<PrependNormalizer>(require_string(j, "prepend", at));
  if (type == "Replace") {
    return std::make_unique<ReplaceNormalizer>(Pattern::from_json(require(j, "pattern", at), at),
                                               require_string(j, "content", at));
  }
  if (type == "Strip") {
    return std::make_unique<StripNormalizer>(opt_bool(j, "strip_left", true, at),
                                             opt_bool(j, "strip_right", true, at));
  }
  if (type == "Nmt") return std::make_unique<NmtNormalizer>();
  if (type == "ByteLevel") return std::make_unique<ByteLevelNormalizer>();
  if (type == "Precompiled") return make_precompiled(j);
  bad_format("unknown normalizer type '" + type + "'");
}

}  // namespace peft::hf
