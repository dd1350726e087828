#define PCRE2_CODE_UNIT_WIDTH 8
#include "tokenizer/regex_splitter.h"

#include <pcre2.h>

#include "core/error.h"
#include "tokenizer/bpe_pre_tokenizer.h"
#include "tokenizer/utf8.h"

namespace peft {

struct RegexSplitter::Impl {
  pcre2_code* code = nullptr;
};

RegexSplitter::RegexSplitter(const std::string& pattern) : impl_(std::make_unique<Impl>()) {
  int err = 0;
  PCRE2_SIZE err_off = 0;
  // UCP makes \s, \d, \w and POSIX classes Unicode-aware, as the reference
  // (Rust/Oniguruma) regexes are; MATCH_INVALID_UTF lets bad bytes through
  // unmatched instead of failing the whole match.
  impl_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                              PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &err, &err_off, nullptr);
  if (!impl_->code) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(err, msg, sizeof msg);
    fail("tokenizer", "pre-tokenizer regex does not compile at offset " + std::to_string(err_off) + ": " +
                          reinterpret_cast<const char*>(msg));
  }
  pcre2_jit_compile(impl_->code, PCRE2_JIT_COMPLETE);  // optional speed-up; falls back when unavailable
}

RegexSplitter::~RegexSplitter() {
  if (impl_ && impl_->code) pcre2_code_free(impl_->code);
}

std::vector<std::string_view> RegexSplitter::split(std::string_view text) const {
  std::vector<std::string_view> pieces;
  if (text.empty()) return pieces;
  std::unique_ptr<pcre2_match_data, void (*)(pcre2_match_data*)> md(
      pcre2_match_data_create_from_pattern(impl_->code, nullptr), pcre2_match_data_free);
  if (!md) throw std::bad_alloc();
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t covered = 0;  // end of the last piece emitted
  size_t offset = 0;   // where the next search starts
  while (offset < text.size()) {
    int rc = pcre2_match(impl_->code, subject, text.size(), offset, 0, md.get(), nullptr);
    // JIT's stack is small (long runs of white space against \s+(?!\S));
    // the interpreter keeps its backtracking on the heap.
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT)
      rc = pcre2_match(impl_->code, subject, text.size(), offset, PCRE2_NO_JIT, md.get(), nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) fail("tokenizer", "pre-tokenizer regex failed (PCRE2 error " + std::to_string(rc) + ")");
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md.get());
    size_t start = ov[0], end = ov[1];
    if (start > covered) pieces.push_back(text.substr(covered, start - covered));
    if (end > start) {
      pieces.push_back(text.substr(start, end - start));
      covered = end;
      offset = end;
    } else {
      // Empty match: step over one character so the loop always advances.
      covered = start;
      offset = start + std::min(utf8_seq_len(static_cast<uint8_t>(text[start])), text.size() - start);
    }
  }
  if (covered < text.size()) pieces.push_back(text.substr(covered));
  return pieces;
}

RegexSequenceSplitter::RegexSequenceSplitter(const std::vector<std::string>& patterns) {
  if (patterns.empty()) fail("tokenizer", "pre-tokenizer without a regex");
  for (const std::string& p : patterns) stages_.push_back(std::make_unique<RegexSplitter>(to_pcre2(p)));
}

std::vector<std::string_view> RegexSequenceSplitter::split(std::string_view text) const {
  std::vector<std::string_view> pieces;
  if (text.empty()) return pieces;
  pieces.push_back(text);
  std::vector<std::string_view> next;
  for (const auto& stage : stages_) {
    next.clear();
    for (std::string_view piece : pieces)
      for (std::string_view sub : stage->split(piece)) next.push_back(sub);
    pieces.swap(next);
  }
  return pieces;
}

}  // namespace peft
