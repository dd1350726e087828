// SentencePiece's precompiled normalization map (normalizer "Precompiled",
// used by T5, ALBERT, XLM-R and other Unigram models). The base64 blob is
//   u32 trie_size (little-endian) | double-array trie (trie_size bytes of
//   u32 units, darts-clone layout) | NUL-terminated replacement strings.
// A trie lookup on a byte string gives the offset of its replacement. As
// Hugging Face does, the text is walked by extended grapheme cluster: a
// cluster shorter than 6 bytes is first looked up whole (the first, i.e.
// shortest, trie match wins), otherwise or failing that each of its
// characters is looked up alone and kept when absent.
#include <unicode/brkiter.h>
#include <unicode/unistr.h>

#include <cstring>
#include <memory>
#include <optional>

#include "core/error.h"
#include "tokenizer/hf/normalizer.h"

namespace peft::hf {

namespace {

std::string base64_decode(const std::string& in, const std::string& at) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
  };
  std::string out;
  out.reserve(in.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=' || c == '\n' || c == '\r') continue;
    const int v = val(c);
    if (v < 0) bad_format(at + ": precompiled_charsmap is not base64");
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

class PrecompiledNormalizer : public Normalizer {
 public:
  PrecompiledNormalizer(const std::string& blob, const std::string& at) {
    if (blob.size() < 4) bad_format(at + ": precompiled_charsmap is too short");
    uint32_t trie_size = 0;
    for (int k = 3; k >= 0; --k) trie_size = (trie_size << 8) | static_cast<uint8_t>(blob[k]);
    if (trie_size % 4 != 0 || trie_size > blob.size() - 4)
      bad_format(at + ": precompiled_charsmap trie size " + std::to_string(trie_size) + " does not fit the blob");
    units_.resize(trie_size / 4);
    for (size_t u = 0; u < units_.size(); ++u) {
      uint32_t v = 0;
      for (int k = 3; k >= 0; --k) v = (v << 8) | static_cast<uint8_t>(blob[4 + u * 4 + k]);
      units_[u] = v;
    }
    strings_ = blob.substr(4 + trie_size);
  }

  void normalize(std::string& text) const override {
    if (units_.empty() || text.empty()) return;
    UErrorCode status = U_ZERO_ERROR;
    std::unique_ptr<icu::BreakIterator> it(icu::BreakIterator::createCharacterInstance(icu::Locale::getRoot(), status));
    if (U_FAILURE(status)) internal_fail("tokenizer", "ICU grapheme iterator unavailable");
    const icu::UnicodeString u = icu::UnicodeString::fromUTF8(text);
    it->setText(u);
    std::string out;
    out.reserve(text.size());
    int32_t start = it->first();
    for (int32_t end = it->next(); end != icu::BreakIterator::DONE; start = end, end = it->next()) {
      std::string g;
      u.tempSubStringBetween(start, end).toUTF8String(g);
      if (g.size() < 6) {
        if (auto rep = transform(g)) {
          out += *rep;
          continue;
        }
      }
      size_t i = 0;
      while (i < g.size()) {
        size_t n = 1;
        const uint8_t lead = static_cast<uint8_t>(g[i]);
        if (lead >= 0xF0) n = 4;
        else if (lead >= 0xE0) n = 3;
        else if (lead >= 0xC0) n = 2;
        n = std::min(n, g.size() - i);
        const std::string_view ch(g.data() + i, n);
        if (auto rep = transform(ch)) out += *rep;
        else out.append(ch);
        i += n;
      }
    }
    text.swap(out);
  }

 private:
  // darts-clone unit fields.
  static bool has_leaf(uint32_t unit) { return ((unit >> 8) & 1) != 0; }
  static uint32_t value(uint32_t unit) { return unit & ((1u << 31) - 1); }
  static uint32_t label(uint32_t unit) { return unit & ((1u << 31) | 0xFF); }
  static uint32_t offset(uint32_t unit) { return (unit >> 10) << ((unit & (1u << 9)) >> 6); }

  // The replacement of the shortest key that is a prefix of `key`.
  std::optional<std::string_view> transform(std::string_view key) const {
    size_t pos = 0;
    pos ^= offset(units_[0]);
    for (char ch : key) {
      const uint8_t c = static_cast<uint8_t>(ch);
      pos ^= c;
      if (pos >= units_.size()) return std::nullopt;
      const uint32_t unit = units_[pos];
      if (label(unit) != c) return std::nullopt;
      pos ^= offset(unit);
      if (pos >= units_.size()) return std::nullopt;
      if (has_leaf(unit)) {
        const size_t at = value(units_[pos]);
        if (at >= strings_.size()) return std::nullopt;
        const size_t end = strings_.find('\0', at);
        return std::string_view(strings_).substr(at, (end == std::string::npos ? strings_.size() : end) - at);
      }
    }
    return std::nullopt;
  }

  std::vector<uint32_t> units_;
  std::string strings_;
};

}  // namespace

std::unique_ptr<Normalizer> make_precompiled(const Json& j) {
  const std::string at = "normalizer Precompiled";
  if (!j.contains("precompiled_charsmap") || j.at("precompiled_charsmap").is_null()) {
    return nullptr;  // HF writes null for models without a map: no normalization
  }
  const std::string blob = base64_decode(require_string(j, "precompiled_charsmap", at), at);
  if (blob.empty()) return nullptr;
  return std::make_unique<PrecompiledNormalizer>(blob, at);
}

}  // namespace peft::hf
