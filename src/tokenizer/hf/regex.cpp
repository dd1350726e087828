#define PCRE2_CODE_UNIT_WIDTH 8
#include "tokenizer/hf/regex.h"

#include <pcre2.h>

#include <cctype>
#include <utility>

#include "core/error.h"
#include "tokenizer/hf/format_error.h"
#include "tokenizer/hf/unicode.h"

namespace peft::hf {

struct Regex::Impl {
  pcre2_code* code = nullptr;
};

namespace {

// Long Unicode general-category names that Rust's regex and Oniguruma take
// but PCRE2 10.42 does not.
const char* short_category(std::string name) {
  std::string key;
  for (char c : name)
    if (c != '_' && c != ' ' && c != '-') key.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  static const std::pair<const char*, const char*> kNames[] = {
      {"letter", "L"}, {"lowercaseletter", "Ll"}, {"uppercaseletter", "Lu"}, {"titlecaseletter", "Lt"},
      {"casedletter", "L&"}, {"modifierletter", "Lm"}, {"otherletter", "Lo"}, {"mark", "M"},
      {"combiningmark", "M"}, {"nonspacingmark", "Mn"}, {"spacingmark", "Mc"}, {"enclosingmark", "Me"},
      {"number", "N"}, {"decimalnumber", "Nd"}, {"digit", "Nd"}, {"letternumber", "Nl"},
      {"othernumber", "No"}, {"punctuation", "P"}, {"punct", "P"}, {"connectorpunctuation", "Pc"},
      {"dashpunctuation", "Pd"}, {"openpunctuation", "Ps"}, {"closepunctuation", "Pe"},
      {"initialpunctuation", "Pi"}, {"finalpunctuation", "Pf"}, {"otherpunctuation", "Po"},
      {"symbol", "S"}, {"mathsymbol", "Sm"}, {"currencysymbol", "Sc"}, {"modifiersymbol", "Sk"},
      {"othersymbol", "So"}, {"separator", "Z"}, {"spaceseparator", "Zs"}, {"lineseparator", "Zl"},
      {"paragraphseparator", "Zp"}, {"other", "C"}, {"control", "Cc"}, {"format", "Cf"},
      {"privateuse", "Co"}, {"surrogate", "Cs"}, {"unassigned", "Cn"}};
  for (const auto& [long_name, short_name] : kNames)
    if (key == long_name) return short_name;
  return nullptr;
}

// Rewrites what PCRE2 (UTF + UCP) reads differently from the Oniguruma
// engine tokenizers uses for these patterns:
//   \w  Oniguruma: Letter | Mark | Decimal_Number | Connector_Punctuation;
//       PCRE2 10.42 leaves out the marks.
//   \s  both mean White_Space, except that PCRE2 leaves out U+0085.
//   \p{Letter} and the other long category names.
// Inside a character class the replacement is spliced into the class;
// \W and \S inside a class are left as they are. A class nested in a
// class (Oniguruma's union, as in BLOOM's pattern) is flattened.
std::string translate(const std::string& p) {
  static const std::string kWord = R"(\p{L}\p{M}\p{Nd}\p{Pc})";
  static const std::string kSpace = R"(\s\x{85})";
  std::string out;
  out.reserve(p.size() + 16);
  bool in_class = false;
  int nested = 0;  // open inner classes being flattened
  for (size_t i = 0; i < p.size(); ++i) {
    const char c = p[i];
    if (c == '\\' && i + 1 < p.size()) {
      const char e = p[i + 1];
      if (e == 'w') { out += in_class ? kWord : "[" + kWord + "]"; ++i; continue; }
      if (e == 's') { out += in_class ? kSpace : "[" + kSpace + "]"; ++i; continue; }
      if (!in_class && e == 'W') { out += "[^" + kWord + "]"; ++i; continue; }
      if (!in_class && e == 'S') { out += "[^" + kSpace + "]"; ++i; continue; }
      if ((e == 'p' || e == 'P') && i + 2 < p.size() && p[i + 2] == '{') {
        const size_t close = p.find('}', i + 3);
        if (close != std::string::npos) {
          const std::string name = p.substr(i + 3, close - i - 3);
          if (const char* s = short_category(name)) {
            out += '\\';
            out += e;
            out += '{';
            out += s;
            out += '}';
            i = close;
            continue;
          }
        }
      }
      out += c;
      out += e;
      ++i;
      continue;
    }
    if (!in_class && c == '[') {
      in_class = true;
      nested = 0;
      out += c;
      // A ']' right after '[' or '[^' is a literal, not the end.
      if (i + 1 < p.size() && p[i + 1] == '^') out += p[++i];
      if (i + 1 < p.size() && p[i + 1] == ']') out += p[++i];
      continue;
    }
    if (in_class && c == '[') {
      if (i + 1 < p.size() && p[i + 1] == ':') {  // POSIX [:alpha:], the same in both
        const size_t close = p.find(":]", i + 2);
        if (close != std::string::npos) {
          out.append(p, i, close + 2 - i);
          i = close + 1;
          continue;
        }
      }
      if (i + 1 < p.size() && p[i + 1] != '^') {
        // Oniguruma reads [a[bc]] as the union [abc] (BLOOM's pattern uses
        // it); PCRE2 has no nested classes, so drop the inner brackets.
        ++nested;
        continue;
      }
    }
    if (in_class && c == ']') {
      if (nested > 0) {
        --nested;
        continue;
      }
      in_class = false;
    }
    out += c;
  }
  return out;
}

}  // namespace

Regex::Regex(const std::string& pattern) : impl_(std::make_unique<Impl>()) {
  int err = 0;
  PCRE2_SIZE err_off = 0;
  const std::string translated = translate(pattern);
  impl_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(translated.data()), translated.size(),
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
    int rc = pcre2_match(impl_->code, subject, s.size(), pos, PCRE2_NO_UTF_CHECK, md, nullptr);
    // JIT's machine stack is small; the interpreter keeps its backtracking
    // on the heap and gets much further.
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT)
      rc = pcre2_match(impl_->code, subject, s.size(), pos, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, md, nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      // A resource limit: better no tokens than silently wrong ones.
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(rc, msg, sizeof msg);
      pcre2_match_data_free(md);
      fail("tokenizer", std::string("pre-tokenizer regex gave up on this text: ") + reinterpret_cast<const char*>(msg));
    }
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
