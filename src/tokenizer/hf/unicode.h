// Unicode facts the tokenizer.json pipeline needs, answered by ICU rather
// than hand-written tables: UTF-8 walking, general categories, the Rust
// `char` predicates the Hugging Face code uses (is_whitespace,
// is_alphanumeric, ...), case mapping and the four normalization forms.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace peft::hf {

// Decodes the code point starting at s[i] and advances i past it. The input
// must be valid UTF-8 (see sanitize_utf8); never reads past the end.
uint32_t next_cp(std::string_view s, size_t& i);
// Byte length of the character whose lead byte is `lead`.
size_t cp_len(uint8_t lead);
void append_cp(std::string& out, uint32_t cp);
// Number of code points.
size_t cp_count(std::string_view s);

// Replaces every malformed sequence with U+FFFD so later stages (and PCRE2 in
// UTF mode) only ever see valid UTF-8; text from a Python str is always valid.
std::string sanitize_utf8(std::string_view s);

// Rust's char::is_whitespace: the Unicode White_Space property.
bool is_whitespace(uint32_t cp);
// Rust's char::is_alphanumeric: Alphabetic or a numeric category (Nd Nl No).
bool is_alphanumeric(uint32_t cp);
// \w of Rust's regex crate: Alphabetic, marks, Nd, Pc, ZWNJ, ZWJ (how HF
// decides whether a single_word added token touches a word).
bool is_word_char(uint32_t cp);
// Rust's char::is_numeric: general category Nd, Nl or No.
bool is_numeric(uint32_t cp);
// Unicode punctuation (general category P*) or ASCII punctuation, which also
// counts $ + < = > ^ ` | ~ (symbols in Unicode) as BERT does.
bool is_bert_punctuation(uint32_t cp);
// General category Mn (what StripAccents removes after NFD).
bool is_nonspacing_mark(uint32_t cp);
// General category M (Mn, Mc, Me): what the StripAccents normalizer removes.
bool is_mark(uint32_t cp);
// BERT's "control": categories Cc Cf Cn Co Cs except \t \n \r.
bool is_bert_control(uint32_t cp);
// CJK ideograph blocks BERT surrounds with spaces.
bool is_chinese_char(uint32_t cp);

// Per-character full lowercase mapping without context (Rust's
// char::to_lowercase, so a final capital sigma still becomes σ).
std::string lowercase(std::string_view s);

// The Unicode script code (ICU's UScriptCode) of a character as HF's
// UnicodeScripts sees it: Hiragana, Katakana and U+30FC folded into Han;
// kNoScript for ' ', unassigned or private-use characters and characters
// newer than Unicode 9.0.
constexpr int kNoScript = -2;
int script_of(uint32_t cp);

enum class NormForm { kNfc, kNfd, kNfkc, kNfkd };
std::string normalize_form(std::string_view s, NormForm form);

}  // namespace peft::hf
