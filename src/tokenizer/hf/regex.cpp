#define PCRE2_CODE_UNIT_WIDTH 8
#include "tokenizer/hf/regex.h"

#include <pcre2.h>

#include "tokenizer/hf/format_error.h"
#include "tokenizer/hf/unicode.h"

namespace peft::hf {

struct Regex::Impl {
  pcre2_code* code = nullptr;
};

Regex::Regex(const std::string& pattern) : impl_(std::make_unique<Impl>()) {
  int err = 0;
  PCRE2_SIZE err_off = 0;
  impl_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                              PCRE2_UTF | PCRE2_UCP, &err, &err_off, nullptr);
  if (impl_->code == nullptr) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(err, msg, sizeof msg);
    bad_format("regex '" + pattern + "' does not compile at offset " + std::to_string(err_off) +
               ": " + reinterpret_cast<const char*>(msg));
  }
  // JIT makes the pre-tokenizer regexes several times faster; matching
  // falls back to the interpreter when JIT is unavailable.
  pcre2_jit_compile(impl_->code, PCRE2_JIT_COMPLETE);
}

Regex::~Regex() {
  if (impl_ && impl_->code) pcre2_code_free(impl_->code);
}

void Regex::find_all(std::string_view s, std::vector<Span>& out) const {
  pcre2_match_data* md = pcre2_match_data_create_from_pattern(impl_->code, nullptr);
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(s.data());
  size_t pos = 0;
  while (pos <= s.size()) {
    // The subject was made valid UTF-8 on entry; skipping PCRE2's check
    // keeps repeated calls linear instead of quadratic.
    const int rc = pcre2_match(impl_->code, subject, s.size(), pos, PCRE2_NO_UTF_CHECK, md, nullptr);
    if (rc < 0) break;  // no match (or a resource limit: treat the rest as unmatched)
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
    const size_t b = ov[0];
    const size_t e = ov[1];
    if (e < b) break;  // \K tricks; not used by tokenizers
    out.push_back({b, e});
    if (e == b) {
      if (e >= s.size()) break;
      pos = e + cp_len(static_cast<uint8_t>(s[e]));
    } else {
      pos = e;
    }
  }
  pcre2_match_data_free(md);
}

void find_literal(std::string_view s, std::string_view needle, std::vector<Span>& out) {
  if (needle.empty()) return;
  size_t pos = 0;
  while (true) {
    const size_t hit = s.find(needle, pos);
    if (hit == std::string_view::npos) return;
    out.push_back({hit, hit + needle.size()});
    pos = hit + needle.size();
  }
}

}  // namespace peft::hf
