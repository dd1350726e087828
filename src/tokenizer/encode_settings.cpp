#include "tokenizer/encode_settings.h"

#include "core/error.h"
#include "tokenizer/tokenizer.h"

namespace peft {

namespace {

// A count of tokens: digits only, at most a billion.
size_t parse_count(const char* what, const std::string& s) {
  if (s.empty() || s.size() > 10 || s.find_first_not_of("0123456789") != std::string::npos ||
      std::stoull(s) > 1000000000ull)
    fail("tokenizer", std::string(what) + " '" + s + "' is not a token count");
  return static_cast<size_t>(std::stoull(s));
}

}  // namespace

EncodeOptions make_encode_options(const EncodeSettings& s, const Tokenizer& tok) {
  EncodeOptions o;
  o.add_special = s.add_special;
  o.encode_special_tokens = s.encode_special_tokens;

  if (s.truncation == "none") {
    if (!s.max_length.empty() || !s.stride.empty() || !s.truncation_side.empty())
      fail("tokenizer", "truncation none cannot take a max length, stride or side");
    o.use_file_truncation = false;
  } else if (!s.truncation.empty() || !s.max_length.empty() || !s.stride.empty() || !s.truncation_side.empty()) {
    std::optional<Truncation> t = tok.configured_truncation();
    if (!t && s.max_length.empty())
      fail("tokenizer", "truncation needs a max length (the tokenizer configures none)");
    if (!t) t = Truncation{};
    if (!s.max_length.empty()) t->max_length = parse_count("max length", s.max_length);
    if (!s.truncation.empty()) t->strategy = parse_truncation_strategy(s.truncation);
    if (!s.stride.empty()) t->stride = parse_count("stride", s.stride);
    if (!s.truncation_side.empty()) t->direction = parse_side(s.truncation_side);
    o.truncation = t;
  }

  const bool pad_details = !s.pad_to_multiple_of.empty() || !s.padding_side.empty() || !s.pad_id.empty();
  if (s.padding == "none") {
    if (pad_details) fail("tokenizer", "padding none cannot take a multiple, side or pad id");
    o.use_file_padding = false;
  } else if (!s.padding.empty() || pad_details) {
    std::optional<Padding> p = tok.configured_padding();
    if (!p && s.padding.empty()) fail("tokenizer", "padding settings need a padding strategy (the tokenizer configures none)");
    if (!p) p = Padding{};
    if (s.padding == "longest") {
      p->length.reset();
    } else if (s.padding == "max_length") {
      const std::optional<Truncation> t = o.truncation ? o.truncation
                                          : o.use_file_truncation ? tok.configured_truncation()
                                                                  : std::nullopt;
      if (!t) fail("tokenizer", "padding max_length needs a max length to pad to");
      p->length = t->max_length;
    } else if (!s.padding.empty()) {
      if (s.padding.find_first_not_of("0123456789") != std::string::npos)
        fail("tokenizer", "padding '" + s.padding + "' is none of none, longest, max_length or a length");
      p->length = parse_count("padding length", s.padding);
    }
    if (!s.pad_to_multiple_of.empty()) p->multiple_of = parse_count("pad-to multiple", s.pad_to_multiple_of);
    if (!s.padding_side.empty()) p->direction = parse_side(s.padding_side);
    if (!s.pad_id.empty()) {
      const size_t id = parse_count("pad id", s.pad_id);
      if (id >= static_cast<size_t>(tok.vocab_size()))
        fail("tokenizer", "pad id " + s.pad_id + " is outside the vocabulary (" + std::to_string(tok.vocab_size()) + " tokens)");
      p->pad_id = static_cast<int32_t>(id);
      p->pad_token = tok.token_text(p->pad_id);
    }
    o.padding = p;
  }
  return o;
}

}  // namespace peft
