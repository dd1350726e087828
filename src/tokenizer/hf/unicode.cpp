#include "tokenizer/hf/unicode.h"

#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/uscript.h>
#include <unicode/unistr.h>

#include "core/error.h"

namespace peft::hf {

size_t cp_len(uint8_t lead) {
  if (lead < 0x80) return 1;
  if ((lead & 0xE0) == 0xC0) return 2;
  if ((lead & 0xF0) == 0xE0) return 3;
  return 4;
}

uint32_t next_cp(std::string_view s, size_t& i) {
  const uint8_t b0 = static_cast<uint8_t>(s[i]);
  size_t n = cp_len(b0);
  if (i + n > s.size()) n = s.size() - i;  // defensive: never past the end
  uint32_t cp = n == 1 ? b0 : n == 2 ? (b0 & 0x1F) : n == 3 ? (b0 & 0x0F) : (b0 & 0x07);
  for (size_t k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<uint8_t>(s[i + k]) & 0x3F);
  i += n;
  return cp;
}

void append_cp(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

size_t cp_count(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<uint8_t>(c) & 0xC0) != 0x80;
  return n;
}

// Length of the valid sequence at s[p], or 0 with `bad` set to the length
// of the maximal invalid subpart (what gets one U+FFFD, as Rust's
// from_utf8_lossy and Python's "replace" do).
static size_t valid_len(std::string_view s, size_t p, size_t& bad) {
  const uint8_t b0 = static_cast<uint8_t>(s[p]);
  if (b0 < 0x80) return 1;
  size_t n;
  uint8_t lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) n = 2;
  else if (b0 >= 0xE0 && b0 <= 0xEF) { n = 3; if (b0 == 0xE0) lo = 0xA0; if (b0 == 0xED) hi = 0x9F; }
  else if (b0 >= 0xF0 && b0 <= 0xF4) { n = 4; if (b0 == 0xF0) lo = 0x90; if (b0 == 0xF4) hi = 0x8F; }
  else { bad = 1; return 0; }
  for (size_t k = 1; k < n; ++k) {
    if (p + k >= s.size()) { bad = k; return 0; }
    const uint8_t b = static_cast<uint8_t>(s[p + k]);
    const bool ok = k == 1 ? (b >= lo && b <= hi) : (b >= 0x80 && b <= 0xBF);
    if (!ok) { bad = k; return 0; }
  }
  return n;
}

std::string sanitize_utf8(std::string_view s) {
  size_t i = 0;
  size_t bad = 0;
  size_t len = 0;
  // Fast path: most text is already valid.
  while (i < s.size() && (len = valid_len(s, i, bad)) > 0) i += len;
  if (i == s.size()) return std::string(s);
  std::string out(s.substr(0, i));
  while (i < s.size()) {
    len = valid_len(s, i, bad);
    if (len > 0) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      out += "\xEF\xBF\xBD";
      i += bad;
    }
  }
  return out;
}

bool is_whitespace(uint32_t cp) {
  if (cp < 0x80) return cp == ' ' || (cp >= 0x09 && cp <= 0x0D);
  return u_isUWhiteSpace(static_cast<UChar32>(cp));
}

bool is_numeric(uint32_t cp) {
  if (cp < 0x80) return cp >= '0' && cp <= '9';
  const int32_t mask = U_GET_GC_MASK(static_cast<UChar32>(cp));
  return (mask & (U_GC_ND_MASK | U_GC_NL_MASK | U_GC_NO_MASK)) != 0;
}

bool is_alphanumeric(uint32_t cp) {
  if (cp < 0x80) return (cp >= '0' && cp <= '9') || ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z');
  return u_hasBinaryProperty(static_cast<UChar32>(cp), UCHAR_ALPHABETIC) || is_numeric(cp);
}

bool is_word_char(uint32_t cp) {
  if (cp < 0x80) return is_alphanumeric(cp) || cp == '_';
  if (cp == 0x200C || cp == 0x200D) return true;
  const int32_t mask = U_GET_GC_MASK(static_cast<UChar32>(cp));
  if ((mask & (U_GC_M_MASK | U_GC_ND_MASK | U_GC_PC_MASK)) != 0) return true;
  return u_hasBinaryProperty(static_cast<UChar32>(cp), UCHAR_ALPHABETIC);
}

bool is_bert_punctuation(uint32_t cp) {
  if (cp < 0x80) {
    return (cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) ||
           (cp >= 123 && cp <= 126);
  }
  return (U_GET_GC_MASK(static_cast<UChar32>(cp)) & U_GC_P_MASK) != 0;
}

bool is_nonspacing_mark(uint32_t cp) {
  if (cp < 0x80) return false;
  return u_charType(static_cast<UChar32>(cp)) == U_NON_SPACING_MARK;
}

bool is_mark(uint32_t cp) {
  if (cp < 0x80) return false;
  return (U_GET_GC_MASK(static_cast<UChar32>(cp)) & U_GC_M_MASK) != 0;
}

bool is_bert_control(uint32_t cp) {
  if (cp == '\t' || cp == '\n' || cp == '\r') return false;
  if (cp < 0x80) return cp < 0x20 || cp == 0x7F;
  const int32_t mask = U_GET_GC_MASK(static_cast<UChar32>(cp));
  return (mask & U_GC_C_MASK) != 0;  // Cc Cf Cn Co Cs
}

bool is_chinese_char(uint32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
         (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
         (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

int script_of(uint32_t cp) {
  if (cp == ' ') return kNoScript;
  if (cp == 0x30FC) return USCRIPT_HAN;
  UErrorCode status = U_ZERO_ERROR;
  const UScriptCode code = uscript_getScript(static_cast<UChar32>(cp), &status);
  if (U_FAILURE(status) || code == USCRIPT_UNKNOWN) return kNoScript;
  // HF's table comes from SentencePiece and stops at Unicode 9.0: newer
  // characters have no script there (checked code point by code point
  // against tokenizers 0.23 for U+0080..U+1FFFF).
  UVersionInfo age;
  u_charAge(static_cast<UChar32>(cp), age);
  if (age[0] >= 10) return kNoScript;
  if (code == USCRIPT_HIRAGANA || code == USCRIPT_KATAKANA) return USCRIPT_HAN;
  return code;
}

std::string lowercase(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const uint8_t b = static_cast<uint8_t>(s[i]);
    if (b < 0x80) {
      out.push_back(static_cast<char>(b >= 'A' && b <= 'Z' ? b + 32 : b));
      ++i;
      continue;
    }
    const uint32_t cp = next_cp(s, i);
    // The only character whose full lowercase differs from the simple one:
    // U+0130 (capital I with dot above) -> "i" + U+0307.
    if (cp == 0x130) {
      out += "i\xCC\x87";
    } else {
      append_cp(out, static_cast<uint32_t>(u_tolower(static_cast<UChar32>(cp))));
    }
  }
  return out;
}

std::string normalize_form(std::string_view s, NormForm form) {
  bool ascii = true;
  for (char c : s) {
    if (static_cast<uint8_t>(c) >= 0x80) { ascii = false; break; }
  }
  if (ascii) return std::string(s);  // every form leaves ASCII unchanged
  // ICU's instances are shared and thread-safe; fetching all four once,
  // under C++'s own once-only static initialisation, keeps their lazy set-up
  // out of the encode threads.
  struct Forms {
    const icu::Normalizer2* n[4] = {};
    Forms() {
      UErrorCode status = U_ZERO_ERROR;
      n[0] = icu::Normalizer2::getNFCInstance(status);
      n[1] = icu::Normalizer2::getNFDInstance(status);
      n[2] = icu::Normalizer2::getNFKCInstance(status);
      n[3] = icu::Normalizer2::getNFKDInstance(status);
      if (U_FAILURE(status)) n[0] = n[1] = n[2] = n[3] = nullptr;
    }
  };
  static const Forms forms;
  const icu::Normalizer2* n = forms.n[static_cast<int>(form)];
  if (n == nullptr) internal_fail("tokenizer", "ICU normalizer unavailable");
  UErrorCode status = U_ZERO_ERROR;
  icu::UnicodeString in = icu::UnicodeString::fromUTF8(icu::StringPiece(s.data(), static_cast<int32_t>(s.size())));
  icu::UnicodeString result = n->normalize(in, status);
  if (U_FAILURE(status)) internal_fail("tokenizer", "ICU normalization failed");
  std::string out;
  result.toUTF8String(out);
  return out;
}

}  // namespace peft::hf
