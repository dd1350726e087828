#include "tokenizer/encoding.h"

#include <algorithm>

#include "core/error.h"
#include "tokenizer/tokenizer.h"

namespace peft {

Encoding Encoding::special_run(const std::vector<int32_t>& ids, int32_t type_id) {
  Encoding e;
  e.ids = ids;
  e.type_ids.assign(ids.size(), type_id);
  e.attention_mask.assign(ids.size(), 1);
  e.special_tokens_mask.assign(ids.size(), 1);
  e.offsets.assign(ids.size(), TokenOffset{});
  e.sequence_ids.assign(ids.size(), -1);
  return e;
}

void Encoding::append(const Encoding& o) {
  ids.insert(ids.end(), o.ids.begin(), o.ids.end());
  type_ids.insert(type_ids.end(), o.type_ids.begin(), o.type_ids.end());
  attention_mask.insert(attention_mask.end(), o.attention_mask.begin(), o.attention_mask.end());
  special_tokens_mask.insert(special_tokens_mask.end(), o.special_tokens_mask.begin(), o.special_tokens_mask.end());
  offsets.insert(offsets.end(), o.offsets.begin(), o.offsets.end());
  sequence_ids.insert(sequence_ids.end(), o.sequence_ids.begin(), o.sequence_ids.end());
}

namespace {

template <typename T>
void keep(std::vector<T>& v, size_t n, bool from_left) {
  if (v.size() <= n) return;
  if (from_left) v.erase(v.begin(), v.end() - static_cast<std::ptrdiff_t>(n));
  else v.resize(n);
}

template <typename T>
void pad_vec(std::vector<T>& v, size_t n, T value, bool left) {
  v.insert(left ? v.begin() : v.end(), n, value);
}

}  // namespace

void Encoding::truncate(size_t n, bool from_left) {
  keep(ids, n, from_left);
  keep(type_ids, n, from_left);
  keep(attention_mask, n, from_left);
  keep(special_tokens_mask, n, from_left);
  keep(offsets, n, from_left);
  keep(sequence_ids, n, from_left);
}

TruncationStrategy parse_truncation_strategy(std::string_view s) {
  if (s == "longest_first" || s == "LongestFirst") return TruncationStrategy::kLongestFirst;
  if (s == "only_first" || s == "OnlyFirst") return TruncationStrategy::kOnlyFirst;
  if (s == "only_second" || s == "OnlySecond") return TruncationStrategy::kOnlySecond;
  fail("tokenizer", "unknown truncation strategy '" + std::string(s) +
                        "' (expected longest_first, only_first or only_second)");
}

Side parse_side(std::string_view s) {
  if (s == "left" || s == "Left") return Side::kLeft;
  if (s == "right" || s == "Right") return Side::kRight;
  fail("tokenizer", "unknown direction '" + std::string(s) + "' (expected left or right)");
}

// Cuts the texts (before special tokens are added) to t.max_length tokens
// in all. longest_first takes tokens from the longer text until both fit or
// both are at half the budget (the longer one keeping the odd token);
// only_first / only_second cut that one text and fail when it is too short.
void truncate_encodings(Encoding& a, Encoding* b, const Truncation& t) {
  const bool left = t.direction == Side::kLeft;
  const size_t total = a.size() + (b ? b->size() : 0);
  if (t.max_length == 0) {
    a.truncate(0, left);
    if (b) b->truncate(0, left);
    return;
  }
  if (total <= t.max_length) return;
  const size_t excess = total - t.max_length;
  const size_t m = t.max_length;
  if (t.strategy == TruncationStrategy::kLongestFirst) {
    if (b == nullptr) {
      a.truncate(m, left);
      return;
    }
    const bool a_longer = a.size() > b->size();
    size_t shorter = std::min(a.size(), b->size());
    size_t longer = shorter > m ? shorter : std::max(shorter, m - shorter);
    if (shorter + longer > m) {
      shorter = m / 2;
      longer = m / 2 + m % 2;
    }
    a.truncate(a_longer ? longer : shorter, left);
    b->truncate(a_longer ? shorter : longer, left);
    return;
  }
  Encoding* target = &a;
  if (t.strategy == TruncationStrategy::kOnlySecond) {
    if (b == nullptr) fail("tokenizer", "truncation only_second needs a pair of texts");
    target = b;
  }
  if (target->size() <= excess) {
    fail("tokenizer", "truncation to max_length " + std::to_string(t.max_length) + " would need more than the " +
                          std::to_string(target->size()) + " tokens of the text it may cut");
  }
  target->truncate(target->size() - excess, left);
}

void pad_encodings(std::vector<Encoding>& batch, const Padding& p) {
  if (batch.empty()) return;
  size_t n = 0;
  if (p.length) {
    n = *p.length;
  } else {
    for (const Encoding& e : batch) n = std::max(n, e.size());
  }
  if (p.multiple_of > 1 && n % p.multiple_of) n += p.multiple_of - n % p.multiple_of;
  const bool left = p.direction == Side::kLeft;
  for (Encoding& e : batch) {
    if (e.size() >= n) continue;
    const size_t k = n - e.size();
    pad_vec(e.ids, k, p.pad_id, left);
    pad_vec(e.type_ids, k, p.pad_type_id, left);
    pad_vec<uint8_t>(e.attention_mask, k, 0, left);
    pad_vec<uint8_t>(e.special_tokens_mask, k, 1, left);
    pad_vec(e.offsets, k, TokenOffset{}, left);
    pad_vec(e.sequence_ids, k, -1, left);
  }
}

namespace {

std::optional<Truncation> pick_truncation(const Tokenizer& tok, const EncodeOptions& o) {
  if (o.truncation) return o.truncation;
  return o.use_file_truncation ? tok.configured_truncation() : std::nullopt;
}

std::optional<Padding> pick_padding(const Tokenizer& tok, const EncodeOptions& o) {
  if (o.padding) return o.padding;
  return o.use_file_padding ? tok.configured_padding() : std::nullopt;
}

Encoding encode_unpadded(const Tokenizer& tok, std::string_view text, std::optional<std::string_view> pair,
                         const EncodeOptions& opts, const std::optional<Truncation>& trunc) {
  Encoding a = tok.encode_text(text, opts.encode_special_tokens, opts.offsets);
  std::optional<Encoding> b;
  if (pair) {
    b = tok.encode_text(*pair, opts.encode_special_tokens, opts.offsets);
    std::fill(b->type_ids.begin(), b->type_ids.end(), 1);
    std::fill(b->sequence_ids.begin(), b->sequence_ids.end(), 1);
  }
  if (trunc) {
    // max_length counts the special tokens; the texts share what is left.
    const size_t added = opts.add_special ? tok.num_special_tokens(pair.has_value()) : 0;
    if (trunc->max_length < added) {
      fail("tokenizer", "max_length " + std::to_string(trunc->max_length) + " leaves no room for the " +
                            std::to_string(added) + " special tokens");
    }
    Truncation t = *trunc;
    t.max_length -= added;
    if (t.stride > t.max_length) {
      fail("tokenizer", "stride " + std::to_string(t.stride) + " is larger than the " +
                            std::to_string(t.max_length) + " tokens max_length leaves for the text");
    }
    truncate_encodings(a, b ? &*b : nullptr, t);
  }
  return tok.post_process(std::move(a), std::move(b), opts.add_special);
}

}  // namespace

Encoding encode(const Tokenizer& tok, std::string_view text, std::optional<std::string_view> pair,
                const EncodeOptions& opts) {
  std::vector<Encoding> one;
  one.push_back(encode_unpadded(tok, text, pair, opts, pick_truncation(tok, opts)));
  if (const auto pad = pick_padding(tok, opts)) pad_encodings(one, *pad);
  return std::move(one[0]);
}

std::vector<Encoding> encode_batch(const Tokenizer& tok, const std::vector<std::string>& texts,
                                   const std::vector<std::string>* pairs, const EncodeOptions& opts) {
  if (pairs && pairs->size() != texts.size()) {
    fail("tokenizer", "batch of " + std::to_string(texts.size()) + " texts with " + std::to_string(pairs->size()) +
                          " pair texts");
  }
  const auto trunc = pick_truncation(tok, opts);
  std::vector<Encoding> out;
  out.reserve(texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    std::optional<std::string_view> pair;
    if (pairs) pair = (*pairs)[i];
    out.push_back(encode_unpadded(tok, texts[i], pair, opts, trunc));
  }
  if (const auto pad = pick_padding(tok, opts)) pad_encodings(out, *pad);
  return out;
}

std::vector<TokenOffset> char_offsets(std::string_view text, const std::vector<TokenOffset>& byte_offsets) {
  // chars_before[i]: code points that start before byte i.
  std::vector<size_t> chars_before(text.size() + 1, 0);
  for (size_t i = 0; i < text.size(); ++i)
    chars_before[i + 1] = chars_before[i] + ((static_cast<uint8_t>(text[i]) & 0xC0) != 0x80 ? 1 : 0);
  std::vector<TokenOffset> out;
  out.reserve(byte_offsets.size());
  for (const TokenOffset& o : byte_offsets) {
    // A span that ends inside a character covers all of it.
    size_t e = std::min(o.end, text.size());
    while (e < text.size() && e > 0 && (static_cast<uint8_t>(text[e]) & 0xC0) == 0x80) ++e;
    out.push_back({chars_before[std::min(o.begin, text.size())], chars_before[e]});
  }
  return out;
}

// ---- Defaults of the Tokenizer interface, for vocabularies without a
// post-processor description (GGUF).

Encoding Tokenizer::encode_text(std::string_view text, bool /*encode_special_tokens*/, bool /*offsets*/) const {
  Encoding e;
  e.ids = encode(text, false);
  const size_t n = e.ids.size();
  e.type_ids.assign(n, 0);
  e.attention_mask.assign(n, 1);
  e.special_tokens_mask.assign(n, 0);
  e.offsets.assign(n, TokenOffset{});
  e.sequence_ids.assign(n, 0);
  return e;
}

namespace {

// What encode(text, true) puts before and after the text's own tokens.
void special_frame(const Tokenizer& tok, std::vector<int32_t>& before, std::vector<int32_t>& after) {
  const std::vector<int32_t> plain = tok.encode("a", false);
  const std::vector<int32_t> full = tok.encode("a", true);
  auto it = std::search(full.begin(), full.end(), plain.begin(), plain.end());
  if (plain.empty() || it == full.end()) return;  // cannot tell: add nothing
  before.assign(full.begin(), it);
  after.assign(it + static_cast<std::ptrdiff_t>(plain.size()), full.end());
}

}  // namespace

size_t Tokenizer::num_special_tokens(bool pair) const {
  std::vector<int32_t> before, after;
  special_frame(*this, before, after);
  if (!pair) return before.size() + after.size();
  return after.empty() ? 2 * before.size() : before.size() + 2 * after.size();
}

Encoding Tokenizer::post_process(Encoding a, std::optional<Encoding> b, bool add_special) const {
  std::fill(a.type_ids.begin(), a.type_ids.end(), 0);
  std::fill(a.sequence_ids.begin(), a.sequence_ids.end(), 0);
  if (b) {
    std::fill(b->type_ids.begin(), b->type_ids.end(), 1);
    std::fill(b->sequence_ids.begin(), b->sequence_ids.end(), 1);
  }
  if (!add_special) {
    if (b) a.append(*b);
    return a;
  }
  std::vector<int32_t> before, after;
  special_frame(*this, before, after);
  Encoding out = Encoding::special_run(before, 0);
  out.append(a);
  out.append(Encoding::special_run(after, 0));
  if (b) {
    if (after.empty()) out.append(Encoding::special_run(before, 1));
    out.append(*b);
    out.append(Encoding::special_run(after, 1));
  }
  return out;
}

}  // namespace peft
