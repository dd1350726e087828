#include "tokenizer/hf/added_tokens.h"

#include "tokenizer/hf/normalizer.h"
#include "tokenizer/hf/unicode.h"

namespace peft::hf {

namespace {

// The code point that ends at byte `end` of s (end > 0).
uint32_t cp_before(std::string_view s, size_t end) {
  size_t b = end - 1;
  while (b > 0 && (static_cast<uint8_t>(s[b]) & 0xC0) == 0x80) --b;
  return next_cp(s, b);
}

}  // namespace

void AddedVocab::load(const Json& j, const Normalizer* normalizer,
                      const std::function<int32_t(std::string_view)>& model_id) {
  if (j.is_null()) return;
  if (!j.is_array()) bad_format("\"added_tokens\" is not an array");
  for (const Json& e : j) {
    const std::string at = "added token " + std::to_string(tokens_.size());
    AddedToken t;
    const int64_t id = opt_int(e, "id", -1, at);
    if (id < 0 || id > (1 << 24)) bad_format(at + ": missing or out-of-range \"id\"");
    t.id = static_cast<int32_t>(id);
    t.content = require_string(e, "content", at);
    if (t.content.empty()) bad_format(at + ": empty \"content\"");
    t.special = opt_bool(e, "special", false, at);
    t.lstrip = opt_bool(e, "lstrip", false, at);
    t.rstrip = opt_bool(e, "rstrip", false, at);
    // HF's default: special tokens are not normalized, others are.
    t.normalized = opt_bool(e, "normalized", !t.special, at);
    t.single_word = opt_bool(e, "single_word", false, at);
    t.content = sanitize_utf8(t.content);
    if (model_id) {
      const int32_t mid = model_id(t.content);
      if (mid >= 0) t.id = mid;
    }
    const size_t index = tokens_.size();
    by_id_[t.id] = index;
    max_id_ = std::max(max_id_, t.id);
    if (t.normalized) {
      std::string key = t.content;
      if (normalizer) normalizer->normalize(key);
      normed_.insert(key, static_cast<int32_t>(index));
    } else {
      raw_.insert(t.content, static_cast<int32_t>(index));
    }
    tokens_.push_back(std::move(t));
  }
}

int32_t AddedVocab::find(std::string_view content) const {
  for (const AddedToken& t : tokens_)
    if (t.content == content) return t.id;
  return -1;
}

std::vector<Segment> AddedVocab::split(std::string_view text, bool normalized_set, bool skip_special) const {
  const ByteTrie& trie = normalized_set ? normed_ : raw_;
  std::vector<Segment> out;
  if (trie.empty()) {
    if (!text.empty()) out.push_back({0, text.size(), -1});
    return out;
  }
  size_t done = 0;  // text before this is already in `out`
  size_t pos = 0;
  while (pos < text.size()) {
    if (!trie.may_start(static_cast<uint8_t>(text[pos]))) {
      ++pos;
      continue;
    }
    size_t len = 0;
    int32_t index = -1;
    trie.prefixes(text.substr(pos), [&](size_t l, int32_t i) { len = l; index = i; });  // keeps the longest
    if (index < 0) {
      ++pos;
      continue;
    }
    const AddedToken& t = tokens_[index];
    size_t start = pos;
    size_t stop = pos + len;
    pos = stop;  // a rejected match is still consumed, as Aho-Corasick iteration does
    if (skip_special && t.special) continue;
    if (t.single_word) {
      const bool word_before = start > 0 && is_word_char(cp_before(text, start));
      size_t k = stop;
      const bool word_after = stop < text.size() && is_word_char(next_cp(text, k));
      if (word_before || word_after) continue;
    }
    if (t.lstrip) {
      size_t s = start;
      while (s > done && is_whitespace(cp_before(text, s))) {
        size_t b = s - 1;
        while (b > 0 && (static_cast<uint8_t>(text[b]) & 0xC0) == 0x80) --b;
        s = b;
      }
      start = std::max(s, done);
    }
    if (t.rstrip) {
      while (stop < text.size()) {
        size_t k = stop;
        if (!is_whitespace(next_cp(text, k))) break;
        stop = k;
      }
      pos = stop;
    }
    if (start > done) out.push_back({done, start, -1});
    out.push_back({start, stop, t.id});
    done = stop;
  }
  if (done < text.size()) out.push_back({done, text.size(), -1});
  return out;
}

}  // namespace peft::hf
