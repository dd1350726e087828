// Python's printf-style string formatting, `"%s: %d" % (a, b)`, which the
// `format` filter and the `%` operator on strings use.
#include <cmath>
#include <cstdio>

#include "tokenizer/chat_template/builtins.h"
#include "tokenizer/chat_template/interpreter.h"
#include "tokenizer/chat_template/pystr.h"

namespace peft::jinja {

namespace {

[[noreturn]] void fail_with(const std::string& msg) { throw EvalError(msg); }

std::string pad(std::string s, long width, bool left, char fill) {
  long len = pystr::length(s);
  if (width <= len) return s;
  std::string p(static_cast<size_t>(width - len), fill);
  if (left) return s + std::string(static_cast<size_t>(width - len), ' ');
  // Zero padding goes after the sign.
  if (fill == '0' && !s.empty() && (s[0] == '-' || s[0] == '+' || s[0] == ' ')) return s.substr(0, 1) + p + s.substr(1);
  return p + s;
}

}  // namespace

std::string percent_format(const std::string& fmt, const Value& rhs) {
  // A tuple supplies the arguments in order; a dict supplies %(name)s; any
  // other value is the single argument.
  std::vector<Value> args;
  if (rhs.is_tuple()) args = rhs.arr();
  else if (!rhs.is_object()) args.push_back(rhs);
  size_t next = 0;
  std::string out;
  for (size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] != '%') {
      out += fmt[i];
      continue;
    }
    if (++i >= fmt.size()) fail_with("incomplete format");
    const Value* arg = nullptr;
    if (fmt[i] == '(') {
      size_t e = fmt.find(')', i);
      if (e == std::string::npos) fail_with("incomplete format key");
      if (!rhs.is_object()) fail_with("format requires a mapping");
      arg = rhs.obj().find(fmt.substr(i + 1, e - i - 1));
      if (!arg) fail_with("format: no key '" + fmt.substr(i + 1, e - i - 1) + "'");
      i = e + 1;
    }
    bool left = false, plus = false, space = false, zero = false, alt = false;
    for (; i < fmt.size() && std::string("-+ 0#").find(fmt[i]) != std::string::npos; ++i) {
      left |= fmt[i] == '-';
      plus |= fmt[i] == '+';
      space |= fmt[i] == ' ';
      zero |= fmt[i] == '0';
      alt |= fmt[i] == '#';
    }
    long width = 0, prec = -1;
    for (; i < fmt.size() && std::isdigit(static_cast<unsigned char>(fmt[i])); ++i) width = std::min(width * 10 + (fmt[i] - '0'), 10000L);
    if (i < fmt.size() && fmt[i] == '.') {
      prec = 0;
      for (++i; i < fmt.size() && std::isdigit(static_cast<unsigned char>(fmt[i])); ++i) prec = std::min(prec * 10 + (fmt[i] - '0'), 1000L);
    }
    if (i >= fmt.size()) fail_with("incomplete format");
    char type = fmt[i];
    if (type == '%') {
      out += '%';
      continue;
    }
    if (!arg) {
      if (next >= args.size()) fail_with("not enough arguments for format string");
      arg = &args[next++];
    }
    std::string s;
    switch (type) {
      case 's':
      case 'r':
      case 'a':
        s = type == 's' ? arg->to_str() : arg->repr();
        if (prec >= 0) s = u32_to_utf8(utf8_to_u32(s).substr(0, static_cast<size_t>(prec)));
        out += pad(s, width, left, ' ');
        continue;
      case 'c':
        if (arg->is_string() && pystr::length(arg->str()) == 1) s = arg->str();
        else if (arg->is_int() && arg->as_int() >= 0 && arg->as_int() <= 0x10FFFF) s = u32_to_utf8(std::u32string(1, static_cast<char32_t>(arg->as_int())));
        else fail_with("%c requires an int or a single character");
        out += pad(s, width, left, ' ');
        continue;
      default: break;
    }
    if (!arg->is_number() && !arg->is_bool())
      fail_with(std::string("%") + type + " format: a real number is required, not " + arg->type_name());
    std::string spec = "%";
    if (plus) spec += '+';
    else if (space) spec += ' ';
    if (alt) spec += '#';
    char buf[1200];
    switch (type) {
      case 'd':
      case 'i':
      case 'u': {
        int64_t v = arg->is_float() ? float_to_int(arg->as_double()) : arg->as_int();
        std::snprintf(buf, sizeof buf, (spec + "lld").c_str(), static_cast<long long>(v));
        break;
      }
      case 'x':
      case 'X':
      case 'o': {
        if (arg->is_float()) fail_with(std::string("%") + type + " format: an integer is required");
        int64_t v = arg->as_int();
        std::string s2 = spec + "ll" + type;
        unsigned long long mag = v < 0 ? 0ULL - static_cast<unsigned long long>(v) : static_cast<unsigned long long>(v);
        std::snprintf(buf, sizeof buf, s2.c_str(), mag);
        if (v < 0) {
          out += pad("-" + std::string(buf), width, left, zero && !left ? '0' : ' ');
          continue;
        }
        break;
      }
      case 'f':
      case 'F':
      case 'e':
      case 'E':
      case 'g':
      case 'G': {
        std::string s2 = spec + "." + std::to_string(prec < 0 ? 6 : prec) + type;
        std::snprintf(buf, sizeof buf, s2.c_str(), arg->as_double());
        break;
      }
      default: fail_with(std::string("unsupported format character '") + type + "'");
    }
    out += pad(buf, width, left, zero && !left ? '0' : ' ');
  }
  if (next < args.size() && !rhs.is_object()) fail_with("not all arguments converted during string formatting");
  return out;
}

}  // namespace peft::jinja
