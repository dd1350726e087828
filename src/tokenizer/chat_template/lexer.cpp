#include "tokenizer/chat_template/lexer.h"

#include <cctype>
#include <cstdint>
#include <utility>

#include "tokenizer/utf8.h"

namespace peft::jinja {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

class Lexer {
 public:
  explicit Lexer(const std::string& src) : src_(normalize(src)) {}

  std::vector<Token> run() {
    size_t pos = 0;
    while (pos < src_.size()) {
      size_t start = find_tag(pos);
      std::string text = src_.substr(pos, (start == std::string::npos ? src_.size() : start) - pos);
      if (start == std::string::npos) {
        emit_text(text, pos);
        break;
      }
      char kind = src_[start + 1];  // '{', '%' or '#'
      char mod = start + 2 < src_.size() ? src_[start + 2] : '\0';
      if (mod == '-') {
        size_t n = text.size();
        while (n > 0 && is_space(text[n - 1])) --n;
        text.resize(n);
      } else if (mod != '+' && kind != '{') {
        // lstrip_blocks: drop the indentation before a tag that starts its line.
        size_t l_pos = text.rfind('\n');
        l_pos = l_pos == std::string::npos ? 0 : l_pos + 1;
        bool line_starting = pos == 0 || src_[pos - 1] == '\n';
        if (l_pos > 0 || line_starting) {
          bool blank = true;
          for (size_t i = l_pos; i < text.size(); ++i)
            if (text[i] != ' ' && text[i] != '\t') blank = false;
          if (blank) text.resize(l_pos);
        }
      }
      emit_text(text, pos);
      line_ += count_lines(pos, start);
      size_t inner = start + 2 + ((mod == '-' || mod == '+') ? 1 : 0);
      if (kind == '#') {
        size_t end = src_.find("#}", inner);
        if (end == std::string::npos) throw SyntaxError{line_, "unclosed comment '{#'"};
        bool strip = end > inner && src_[end - 1] == '-';
        bool keep = end > inner && src_[end - 1] == '+';
        line_ += count_lines(start, end + 2);
        pos = after_tag(end + 2, strip, !keep);
      } else {
        pos = lex_tag(inner, kind == '{');
        size_t n = tokens_.size();
        if (kind == '%' && n >= 3 && tokens_[n - 3].kind == TokKind::BlockBegin && tokens_[n - 2].kind == TokKind::Name &&
            tokens_[n - 2].value == "raw" && tokens_[n - 1].kind == TokKind::BlockEnd) {
          tokens_.resize(n - 3);
          pos = lex_raw(pos);
        }
      }
    }
    tokens_.push_back({TokKind::Eof, "", line_});
    return std::move(tokens_);
  }

 private:
  // Newlines become "\n" everywhere, and one trailing newline goes
  // (Jinja's newline_sequence and keep_trailing_newline=False).
  static std::string normalize(const std::string& s) {
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '\r') {
        out += '\n';
        if (i + 1 < s.size() && s[i + 1] == '\n') ++i;
      } else {
        out += s[i];
      }
    }
    if (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }

  size_t find_tag(size_t pos) const {
    for (size_t i = pos; i + 1 < src_.size(); ++i)
      if (src_[i] == '{' && (src_[i + 1] == '{' || src_[i + 1] == '%' || src_[i + 1] == '#')) return i;
    return std::string::npos;
  }

  int count_lines(size_t a, size_t b) const {
    int n = 0;
    for (size_t i = a; i < b && i < src_.size(); ++i) n += src_[i] == '\n';
    return n;
  }

  void emit_text(const std::string& text, size_t) {
    if (!text.empty()) tokens_.push_back({TokKind::Text, text, line_});
  }

  // Where text resumes after a tag ending at `pos`: `-` strips all following
  // whitespace; a block or comment drops one newline (trim_blocks).
  size_t after_tag(size_t pos, bool strip, bool trim_newline) {
    if (strip) {
      while (pos < src_.size() && is_space(src_[pos])) {
        line_ += src_[pos] == '\n';
        ++pos;
      }
    } else if (trim_newline && pos < src_.size() && src_[pos] == '\n') {
      ++line_;
      ++pos;
    }
    return pos;
  }

  // Lexes the expression tokens of a {{ }} or {% %} tag starting at `pos`.
  size_t lex_tag(size_t pos, bool is_var) {
    tokens_.push_back({is_var ? TokKind::VarBegin : TokKind::BlockBegin, "", line_});
    brackets_.clear();  // open brackets: an end marker inside them is not the end
    const char close = is_var ? '}' : '%';
    while (true) {
      while (pos < src_.size() && is_space(src_[pos])) {
        line_ += src_[pos] == '\n';
        ++pos;
      }
      if (pos >= src_.size()) {
        if (!brackets_.empty())
          throw SyntaxError{brackets_.back().second, std::string("unclosed '") + brackets_.back().first + "' in a '" +
                                                         (is_var ? "{{" : "{%") + "' tag"};
        throw SyntaxError{line_, is_var ? "unclosed '{{'" : "unclosed '{%'"};
      }
      // "-}}", "+%}" or "}}" / "%}". Inside a dict literal, "}}" closes braces.
      char c = src_[pos];
      size_t m = (c == '-' || c == '+') ? pos + 1 : pos;
      if (m + 1 < src_.size() && src_[m] == close && src_[m + 1] == '}' && (c != '+' || !is_var) &&
          !(is_var && !brackets_.empty() && brackets_.back().first == '{')) {
        if (!brackets_.empty())
          throw SyntaxError{brackets_.back().second, std::string("unclosed '") + brackets_.back().first + "' in a '" +
                                                         (is_var ? "{{" : "{%") + "' tag"};
        // Jinja keeps the newline after {% raw %} (trim_blocks does not apply there).
        size_t n = tokens_.size();
        bool raw = !is_var && n >= 2 && tokens_[n - 2].kind == TokKind::BlockBegin &&
                   tokens_[n - 1].kind == TokKind::Name && tokens_[n - 1].value == "raw";
        tokens_.push_back({is_var ? TokKind::VarEnd : TokKind::BlockEnd, "", line_});
        return after_tag(m + 2, c == '-', !is_var && c != '+' && !raw);
      }
      pos = lex_token(pos);
    }
  }

  size_t lex_token(size_t pos) {
    char c = src_[pos];
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t e = pos;
      while (e < src_.size() && (std::isalnum(static_cast<unsigned char>(src_[e])) || src_[e] == '_')) ++e;
      tokens_.push_back({TokKind::Name, src_.substr(pos, e - pos), line_});
      return e;
    }
    if (std::isdigit(static_cast<unsigned char>(c))) return lex_number(pos);
    if (c == '\'' || c == '"') return lex_string(pos);
    static const char* kTwo[] = {"//", "**", "==", "!=", "<=", ">="};
    for (const char* op : kTwo) {
      if (src_.compare(pos, 2, op) == 0) {
        tokens_.push_back({TokKind::Op, op, line_});
        return pos + 2;
      }
    }
    static const std::string kOne = "+-*/%~<>=()[]{},.:|;";
    if (kOne.find(c) != std::string::npos) {
      if (c == '(' || c == '[' || c == '{') brackets_.emplace_back(c, line_);
      if (c == ')' || c == ']' || c == '}') {
        char open = c == ')' ? '(' : (c == ']' ? '[' : '{');
        if (brackets_.empty() || brackets_.back().first != open)
          throw SyntaxError{line_, std::string("unexpected '") + c + "'"};
        brackets_.pop_back();
      }
      tokens_.push_back({TokKind::Op, std::string(1, c), line_});
      return pos + 1;
    }
    throw SyntaxError{line_, std::string("unexpected character '") + c + "'"};
  }

  // {% raw %}...{% endraw %}: the text in between is output as written.
  size_t lex_raw(size_t pos) {
    int start_line = line_;
    for (size_t i = src_.find("{%", pos); i != std::string::npos; i = src_.find("{%", i + 2)) {
      size_t j = i + 2;
      bool strip_before = j < src_.size() && src_[j] == '-';
      if (j < src_.size() && (src_[j] == '-' || src_[j] == '+')) ++j;
      while (j < src_.size() && is_space(src_[j])) ++j;
      if (src_.compare(j, 6, "endraw") != 0) continue;
      j += 6;
      while (j < src_.size() && is_space(src_[j])) ++j;
      bool strip_after = j < src_.size() && src_[j] == '-';
      bool keep_newline = j < src_.size() && src_[j] == '+';
      if (strip_after || keep_newline) ++j;
      if (src_.compare(j, 2, "%}") != 0) continue;
      std::string text = src_.substr(pos, i - pos);
      if (strip_before) {
        size_t e = text.size();
        while (e > 0 && is_space(text[e - 1])) --e;
        text.resize(e);
      }
      emit_text(text, pos);
      line_ += count_lines(pos, j + 2);
      return after_tag(j + 2, strip_after, !keep_newline);
    }
    throw SyntaxError{start_line, "'raw' block is never closed (missing 'endraw')"};
  }

  size_t digits(size_t pos) const {
    while (pos < src_.size() && (std::isdigit(static_cast<unsigned char>(src_[pos])) || src_[pos] == '_')) ++pos;
    return pos;
  }

  size_t lex_number(size_t pos) {
    size_t e = digits(pos);
    bool is_float = false;
    if (e + 1 < src_.size() && src_[e] == '.' && std::isdigit(static_cast<unsigned char>(src_[e + 1]))) {
      e = digits(e + 1);
      is_float = true;
    }
    if (e < src_.size() && (src_[e] == 'e' || src_[e] == 'E')) {
      size_t x = e + 1;
      if (x < src_.size() && (src_[x] == '+' || src_[x] == '-')) ++x;
      if (x < src_.size() && std::isdigit(static_cast<unsigned char>(src_[x]))) {
        e = digits(x);
        is_float = true;
      }
    }
    std::string text;
    for (size_t i = pos; i < e; ++i)
      if (src_[i] != '_') text += src_[i];
    tokens_.push_back({is_float ? TokKind::Float : TokKind::Int, text, line_});
    return e;
  }

  // Decodes a quoted literal with Python's escapes (\n, \t, \xhh, \uXXXX,
  // \UXXXXXXXX, octal, \\, quotes); unknown escapes stay as written.
  size_t lex_string(size_t pos) {
    char q = src_[pos];
    int start_line = line_;
    std::string out;
    size_t i = pos + 1;
    auto hex = [&](size_t at, int n, uint32_t& cp) {
      if (at + n > src_.size()) return false;
      cp = 0;
      for (int k = 0; k < n; ++k) {
        char h = src_[at + k];
        if (!std::isxdigit(static_cast<unsigned char>(h))) return false;
        cp = cp * 16 + (std::isdigit(static_cast<unsigned char>(h)) ? h - '0' : (std::tolower(h) - 'a' + 10));
      }
      return true;
    };
    while (true) {
      if (i >= src_.size()) throw SyntaxError{start_line, "unterminated string literal"};
      char c = src_[i];
      if (c == q) break;
      if (c == '\n') ++line_;
      if (c != '\\') {
        out += c;
        ++i;
        continue;
      }
      if (i + 1 >= src_.size()) throw SyntaxError{start_line, "unterminated string literal"};
      char e = src_[i + 1];
      i += 2;
      switch (e) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case 'a': out += '\a'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'v': out += '\v'; break;
        case '\\': out += '\\'; break;
        case '\'': out += '\''; break;
        case '"': out += '"'; break;
        case '\n': ++line_; break;  // line continuation
        case 'x':
        case 'u':
        case 'U': {
          int n = e == 'x' ? 2 : (e == 'u' ? 4 : 8);
          uint32_t cp;
          if (!hex(i, n, cp) || cp > 0x10FFFF)
            throw SyntaxError{line_, std::string("bad \\") + e + " escape in string literal"};
          utf8_append(out, cp);
          i += n;
          break;
        }
        default:
          if (e >= '0' && e <= '7') {
            uint32_t cp = e - '0';
            for (int k = 0; k < 2 && i < src_.size() && src_[i] >= '0' && src_[i] <= '7'; ++k, ++i)
              cp = cp * 8 + (src_[i] - '0');
            utf8_append(out, cp);
          } else {
            out += '\\';
            out += e;
          }
      }
    }
    tokens_.push_back({TokKind::String, out, start_line});
    return i + 1;
  }

  std::string src_;
  std::vector<Token> tokens_;
  std::vector<std::pair<char, int>> brackets_;  // open brackets in the current tag, with their lines
  int line_ = 1;
};

}  // namespace

std::vector<Token> lex_template(const std::string& source) { return Lexer(source).run(); }

}  // namespace peft::jinja
