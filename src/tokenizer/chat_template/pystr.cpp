#include "tokenizer/chat_template/pystr.h"

#include <unicode/locid.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>

#include "tokenizer/chat_template/interpreter.h"

namespace peft::jinja::pystr {

bool is_space_cp(char32_t c) {
  if (c < 0x80) return c == ' ' || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F);
  return c == 0x85 || u_isUWhiteSpace(static_cast<UChar32>(c));
}

std::string strip(const std::string& s, const std::string* chars, bool left, bool right) {
  std::u32string u = utf8_to_u32(s);
  std::u32string set = chars ? utf8_to_u32(*chars) : std::u32string();
  auto drop = [&](char32_t c) { return chars ? set.find(c) != std::u32string::npos : is_space_cp(c); };
  size_t a = 0, b = u.size();
  if (left)
    while (a < b && drop(u[a])) ++a;
  if (right)
    while (b > a && drop(u[b - 1])) --b;
  return u32_to_utf8(u.substr(a, b - a));
}

std::vector<std::string> split(const std::string& s, const std::string* sep, long maxsplit) {
  std::vector<std::string> out;
  if (sep) {
    if (sep->empty()) throw EvalError("empty separator");
    size_t pos = 0;
    while (maxsplit < 0 || static_cast<long>(out.size()) < maxsplit) {
      size_t f = s.find(*sep, pos);
      if (f == std::string::npos) break;
      out.push_back(s.substr(pos, f - pos));
      pos = f + sep->size();
    }
    out.push_back(s.substr(pos));
    return out;
  }
  std::u32string u = utf8_to_u32(s);
  size_t i = 0;
  while (true) {
    while (i < u.size() && is_space_cp(u[i])) ++i;
    if (i >= u.size()) break;
    if (maxsplit >= 0 && static_cast<long>(out.size()) >= maxsplit) {
      // The rest, with trailing whitespace removed.
      size_t e = u.size();
      while (e > i && is_space_cp(u[e - 1])) --e;
      out.push_back(u32_to_utf8(u.substr(i, e - i)));
      break;
    }
    size_t j = i;
    while (j < u.size() && !is_space_cp(u[j])) ++j;
    out.push_back(u32_to_utf8(u.substr(i, j - i)));
    i = j;
  }
  return out;
}

std::vector<std::string> rsplit(const std::string& s, const std::string* sep, long maxsplit) {
  if (maxsplit < 0 || !sep) {
    if (maxsplit < 0) return split(s, sep, maxsplit);
    // Whitespace rsplit with a limit: split from the right.
    std::u32string u = utf8_to_u32(s);
    std::vector<std::string> rev;
    long i = static_cast<long>(u.size());
    while (true) {
      while (i > 0 && is_space_cp(u[i - 1])) --i;
      if (i <= 0) break;
      if (static_cast<long>(rev.size()) >= maxsplit) {
        long b = 0;
        while (b < i && is_space_cp(u[b])) ++b;
        rev.push_back(u32_to_utf8(u.substr(b, i - b)));
        break;
      }
      long j = i;
      while (j > 0 && !is_space_cp(u[j - 1])) --j;
      rev.push_back(u32_to_utf8(u.substr(j, i - j)));
      i = j;
    }
    return std::vector<std::string>(rev.rbegin(), rev.rend());
  }
  if (sep->empty()) throw EvalError("empty separator");
  std::vector<std::string> rev;
  size_t end = s.size();
  while (static_cast<long>(rev.size()) < maxsplit) {
    if (end < sep->size()) break;
    size_t f = s.rfind(*sep, end - sep->size());
    if (f == std::string::npos) break;
    rev.push_back(s.substr(f + sep->size(), end - f - sep->size()));
    end = f;
  }
  rev.push_back(s.substr(0, end));
  return std::vector<std::string>(rev.rbegin(), rev.rend());
}

std::vector<std::string> splitlines(const std::string& s, bool keepends) {
  std::u32string u = utf8_to_u32(s);
  std::vector<std::string> out;
  size_t start = 0, i = 0;
  while (i < u.size()) {
    char32_t c = u[i];
    bool brk = c == '\n' || c == '\r' || c == 0x0B || c == 0x0C || c == 0x1C || c == 0x1D || c == 0x1E ||
               c == 0x85 || c == 0x2028 || c == 0x2029;
    if (!brk) {
      ++i;
      continue;
    }
    size_t end = i + ((c == '\r' && i + 1 < u.size() && u[i + 1] == '\n') ? 2 : 1);
    out.push_back(u32_to_utf8(u.substr(start, (keepends ? end : i) - start)));
    start = i = end;
  }
  if (start < u.size()) out.push_back(u32_to_utf8(u.substr(start)));
  return out;
}

std::string upper(const std::string& s) {
  std::string out;
  icu::UnicodeString::fromUTF8(s).toUpper(icu::Locale::getRoot()).toUTF8String(out);
  return out;
}

std::string lower(const std::string& s) {
  std::string out;
  icu::UnicodeString::fromUTF8(s).toLower(icu::Locale::getRoot()).toUTF8String(out);
  return out;
}

static std::string map_cp(char32_t c, bool to_title, bool to_lower) {
  // Full mappings (e.g. 'ß' -> "Ss" in title case) through ICU strings.
  icu::UnicodeString u(static_cast<UChar32>(c));
  if (to_lower) u.toLower(icu::Locale::getRoot());
  else if (to_title) u = icu::UnicodeString(static_cast<UChar32>(u_totitle(static_cast<UChar32>(c))));
  std::string out;
  u.toUTF8String(out);
  return out;
}

std::string title(const std::string& s) {
  std::string out;
  bool prev_cased = false;
  for (char32_t c : utf8_to_u32(s)) {
    bool cased = u_hasBinaryProperty(static_cast<UChar32>(c), UCHAR_CASED);
    if (cased) out += map_cp(c, !prev_cased, prev_cased);
    else out += u32_to_utf8(std::u32string(1, c));
    prev_cased = cased;
  }
  return out;
}

std::string capitalize(const std::string& s) {
  std::u32string u = utf8_to_u32(s);
  if (u.empty()) return "";
  return map_cp(u[0], true, false) + lower(u32_to_utf8(u.substr(1)));
}

std::string replace(const std::string& s, const std::string& from, const std::string& to, long count) {
  std::string out;
  if (from.empty()) {
    // Python inserts `to` between code points (and at both ends).
    std::u32string u = utf8_to_u32(s);
    long n = 0;
    for (size_t i = 0; i <= u.size(); ++i) {
      if (count < 0 || n < count) {
        out += to;
        ++n;
      }
      if (i < u.size()) out += u32_to_utf8(std::u32string(1, u[i]));
    }
    return out;
  }
  size_t pos = 0;
  long n = 0;
  while (count < 0 || n < count) {
    size_t f = s.find(from, pos);
    if (f == std::string::npos) break;
    out.append(s, pos, f - pos);
    out += to;
    pos = f + from.size();
    ++n;
  }
  out.append(s, pos, std::string::npos);
  return out;
}

long count(const std::string& s, const std::string& sub) {
  if (sub.empty()) return length(s) + 1;
  long n = 0;
  for (size_t pos = s.find(sub); pos != std::string::npos; pos = s.find(sub, pos + sub.size())) ++n;
  return n;
}

long length(const std::string& s) {
  long n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

long find(const std::string& s, const std::string& sub, bool last) {
  size_t f = last ? s.rfind(sub) : s.find(sub);
  if (f == std::string::npos) return -1;
  return length(s.substr(0, f));
}

}  // namespace peft::jinja::pystr
