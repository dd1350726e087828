#include "tokenizer/wordpiece_tokenizer.h"

#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/ustring.h>

#include "core/error.h"
#include "tokenizer/utf8.h"

namespace peft {

namespace {

// BERT's "Chinese character" ranges: the CJK Unified Ideograph blocks and
// the compatibility ideographs (not Hangul, kana or CJK punctuation).
bool is_cjk(uint32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF) ||
         (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

bool is_bert_whitespace(uint32_t cp) {
  return cp == '\t' || cp == '\n' || cp == '\r' || u_isUWhiteSpace(static_cast<UChar32>(cp));
}

// "Other" general categories (Cc, Cf, Cs, Co, Cn), but tab/newline/return
// count as whitespace.
bool is_bert_control(uint32_t cp) {
  if (cp == '\t' || cp == '\n' || cp == '\r') return false;
  switch (u_charType(static_cast<UChar32>(cp))) {
    case U_CONTROL_CHAR:
    case U_FORMAT_CHAR:
    case U_SURROGATE:
    case U_PRIVATE_USE_CHAR:
    case U_UNASSIGNED:
      return true;
    default:
      return false;
  }
}

// ASCII punctuation (which includes symbols such as $ + < = > ^ ` | ~) and
// every Unicode punctuation category P*.
bool is_bert_punct(uint32_t cp) {
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126))
    return true;
  return u_ispunct(static_cast<UChar32>(cp));
}

std::u32string to_cps(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    size_t start = i;
    uint32_t cp = utf8_next(s, i);
    // A malformed byte is not text: treat it like U+FFFD, which cleaning drops.
    if (cp >= 0x80 && i - start == 1) cp = 0xFFFD;
    out += static_cast<char32_t>(cp);
  }
  return out;
}

icu::UnicodeString to_icu(const std::u32string& cps) {
  icu::UnicodeString u;
  for (char32_t c : cps) u.append(static_cast<UChar32>(c));
  return u;
}

std::u32string from_icu(const icu::UnicodeString& u) {
  std::u32string out;
  for (int32_t i = 0; i < u.length();) {
    UChar32 c = u.char32At(i);
    out += static_cast<char32_t>(c);
    i += U16_LENGTH(c);
  }
  return out;
}

}  // namespace

WordPieceTokenizer::WordPieceTokenizer(WordPieceVocab vocab) : v_(std::move(vocab)) {
  const size_t n = v_.tokens.size();
  if (n == 0) fail("tokenizer", "WordPiece vocabulary is empty");
  if (n > static_cast<size_t>(INT32_MAX)) fail("tokenizer", "vocabulary too large");
  if (v_.types.empty()) v_.types.assign(n, static_cast<int32_t>(TokenType::Normal));
  if (v_.types.size() != n)
    fail("tokenizer", "token_type has " + std::to_string(v_.types.size()) + " entries for " + std::to_string(n) + " tokens");
  for (auto& t : v_.types) t = static_cast<int32_t>(token_type_from_int(t));
  for (int32_t* id : {&v_.unk, &v_.cls, &v_.sep})
    if (*id < 0 || *id >= static_cast<int32_t>(n)) *id = -1;
  ids_.reserve(n);
  std::vector<std::pair<std::string, int32_t>> all, user;
  for (size_t i = 0; i < n; ++i) {
    int32_t id = static_cast<int32_t>(i);
    ids_[v_.tokens[i]] = id;  // a duplicated token maps to its last id, as in HF and llama.cpp
    TokenType t = type(id);
    if (t == TokenType::Control || t == TokenType::Unknown || t == TokenType::UserDefined)
      all.emplace_back(v_.tokens[i], id);
    if (t == TokenType::UserDefined) user.emplace_back(v_.tokens[i], id);
  }
  if (v_.unk < 0) {
    auto it = ids_.find("[UNK]");
    if (it == ids_.end()) fail("tokenizer", "WordPiece vocabulary has no unknown token");
    v_.unk = it->second;
  }
  split_all_ = SpecialSplitter(std::move(all));
  split_user_ = SpecialSplitter(std::move(user));
}

std::vector<std::string> WordPieceTokenizer::pre_tokenize(std::string_view text) const {
  // Clean and isolate ideographs.
  std::u32string cps;
  for (char32_t c : to_cps(text)) {
    if (c == 0 || c == 0xFFFD || is_bert_control(c)) continue;
    if (is_bert_whitespace(c)) {
      cps += U' ';
    } else if (is_cjk(c)) {
      cps += U' ';
      cps += c;
      cps += U' ';
    } else {
      cps += c;
    }
  }
  if (v_.strip_accents) {
    UErrorCode err = U_ZERO_ERROR;
    const icu::Normalizer2* nfd = icu::Normalizer2::getNFDInstance(err);
    if (U_FAILURE(err)) fail("tokenizer", std::string("ICU NFD unavailable: ") + u_errorName(err));
    icu::UnicodeString decomposed = nfd->normalize(to_icu(cps), err);
    if (U_FAILURE(err)) fail("tokenizer", std::string("ICU NFD failed: ") + u_errorName(err));
    std::u32string kept;
    for (char32_t c : from_icu(decomposed))
      if (u_charType(static_cast<UChar32>(c)) != U_NON_SPACING_MARK) kept += c;
    cps.swap(kept);
  }
  if (v_.lowercase) {
    // Per character, full (possibly expanding) mapping without context, as
    // Rust's char::to_lowercase does.
    std::u32string lower;
    for (char32_t c : cps) {
      UChar src[2];
      int32_t len = 0;
      U16_APPEND_UNSAFE(src, len, static_cast<UChar32>(c));
      UChar dst[8];
      UErrorCode err = U_ZERO_ERROR;
      int32_t n = u_strToLower(dst, 8, src, len, "", &err);
      if (U_FAILURE(err) || n > 8) {
        lower += c;
        continue;
      }
      for (int32_t i = 0; i < n;) {
        UChar32 d;
        U16_NEXT(dst, i, n, d);
        lower += static_cast<char32_t>(d);
      }
    }
    cps.swap(lower);
  }
  // Split on whitespace; punctuation characters become words of their own.
  std::vector<std::string> words;
  std::string cur;
  auto flush = [&]() {
    if (!cur.empty()) words.push_back(std::move(cur));
    cur.clear();
  };
  for (char32_t c : cps) {
    if (is_bert_whitespace(c)) {
      flush();
    } else if (is_bert_punct(c)) {
      flush();
      utf8_append(cur, c);
      flush();
    } else {
      utf8_append(cur, c);
    }
  }
  flush();
  return words;
}

void WordPieceTokenizer::encode_word(const std::string& word, std::vector<int32_t>& out) const {
  // Character boundaries, so pieces never cut a UTF-8 sequence.
  std::vector<size_t> bounds;
  for (size_t i = 0; i < word.size();) {
    bounds.push_back(i);
    utf8_next(word, i);
  }
  bounds.push_back(word.size());
  const size_t n_chars = bounds.size() - 1;
  if (n_chars > v_.max_word_chars) {
    out.push_back(v_.unk);
    return;
  }
  const size_t mark = out.size();
  std::string candidate;
  for (size_t start = 0; start < n_chars;) {
    int32_t found = -1;
    size_t end = n_chars;
    for (; end > start; --end) {
      candidate = start > 0 ? v_.continuation_prefix : v_.word_prefix;
      candidate.append(word, bounds[start], bounds[end] - bounds[start]);
      auto it = ids_.find(candidate);
      if (it != ids_.end()) {
        found = it->second;
        break;
      }
    }
    if (found < 0) {
      out.resize(mark);
      out.push_back(v_.unk);
      return;
    }
    out.push_back(found);
    start = end;
  }
}

std::vector<int32_t> WordPieceTokenizer::encode(std::string_view text, bool add_special) const {
  std::vector<int32_t> out;
  if (add_special && v_.add_cls && v_.cls >= 0) out.push_back(v_.cls);
  for (const TextPiece& p : (parse_special_ ? split_all_ : split_user_).split(text)) {
    if (p.token >= 0) {
      out.push_back(p.token);
      continue;
    }
    for (const std::string& w : pre_tokenize(p.text)) encode_word(w, out);
  }
  if (add_special && v_.add_sep && v_.sep >= 0) out.push_back(v_.sep);
  return out;
}

namespace {

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size()) s.replace(pos, from.size(), to);
}

}  // namespace

std::string WordPieceTokenizer::decode(const std::vector<int32_t>& ids, bool skip_special) const {
  std::string out;
  bool first = true;
  for (int32_t id : ids) {
    if (id < 0 || id >= vocab_size())
      fail("tokenizer", "token id " + std::to_string(id) + " is out of range (vocabulary of " + std::to_string(vocab_size()) + ")");
    if (skip_special && is_special(id)) continue;
    bool starts_word = true;
    std::string_view t = display(id, starts_word);
    if (!first && starts_word) out += ' ';
    out += t;
    first = false;
  }
  // transformers' clean_up_tokenization, in its order.
  static const std::pair<std::string_view, std::string_view> kCleanup[] = {
      {" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"},
      {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
  for (const auto& [from, to] : kCleanup) replace_all(out, from, to);
  return out;
}

std::string_view WordPieceTokenizer::display(int32_t id, bool& starts_word) const {
  std::string_view t = v_.tokens[id];
  starts_word = true;
  if (is_special(id)) return t;
  const std::string& cont = v_.continuation_prefix;
  const std::string& word = v_.word_prefix;
  if (!cont.empty() && t.size() > cont.size() && t.compare(0, cont.size(), cont) == 0) {
    starts_word = false;
    return t.substr(cont.size());
  }
  if (!word.empty()) {
    if (t.compare(0, word.size(), word) == 0) return t.substr(word.size());
    starts_word = !cont.empty();  // bare pieces continue a word when words are marked
  }
  return t;
}

std::string WordPieceTokenizer::token_text(int32_t id) const {
  if (id < 0 || id >= vocab_size()) fail("tokenizer", "token id " + std::to_string(id) + " is out of range");
  return v_.tokens[id];
}

bool WordPieceTokenizer::is_special(int32_t id) const {
  if (id < 0 || id >= vocab_size()) return false;
  TokenType t = type(id);
  return t == TokenType::Control || t == TokenType::Unknown;
}

std::string WordPieceTokenizer::summary() const {
  return "bert (WordPiece), " + std::to_string(vocab_size()) + " tokens, cls " + std::to_string(v_.cls) + ", sep " +
         std::to_string(v_.sep);
}

}  // namespace peft
