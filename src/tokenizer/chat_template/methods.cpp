// The Python methods templates call on values: str (strip, split,
// startswith, replace, ...), dict (items, keys, values, get, ...) and list
// (append, pop, ...). Each is returned bound to its value, so
// `s.strip` is a function and `s.strip()` calls it.
#include <unicode/uchar.h>

#include <algorithm>

#include "tokenizer/chat_template/builtins.h"
#include "tokenizer/chat_template/interpreter.h"
#include "tokenizer/chat_template/pystr.h"

namespace peft::jinja {

namespace {

[[noreturn]] void fail_with(const std::string& msg) { throw EvalError(msg); }

// An optional string argument (None counts as absent).
const std::string* opt_str(const CallArgs& a, size_t index, const char* name, const char* method) {
  const Value* v = a.find(index, name);
  if (!v || v->is_none() || v->is_undefined()) return nullptr;
  if (!v->is_string()) fail_with(std::string(method) + "() argument must be str, not " + v->type_name());
  return &v->str();
}

const std::string& req_str(const CallArgs& a, size_t index, const char* name, const char* method) {
  const std::string* s = opt_str(a, index, name, method);
  if (!s) fail_with(std::string(method) + "() missing argument '" + name + "'");
  return *s;
}

long opt_int(const CallArgs& a, size_t index, const char* name, long dflt) {
  const Value* v = a.find(index, name);
  if (!v || v->is_none()) return dflt;
  if (!v->is_int() && !v->is_bool()) fail_with(std::string("argument '") + name + "' must be an integer");
  return static_cast<long>(v->as_int());
}

Value str_list(const std::vector<std::string>& parts) {
  Array out;
  for (auto& p : parts) out.push_back(Value(p));
  return Value::array(std::move(out));
}

// startswith/endswith take a string or a tuple of strings.
bool affix_match(const std::string& s, const Value& what, bool prefix) {
  auto one = [&](const Value& p) {
    if (!p.is_string()) fail_with("startswith/endswith need a string or a tuple of strings");
    const std::string& x = p.str();
    if (x.size() > s.size()) return false;
    return prefix ? s.compare(0, x.size(), x) == 0 : s.compare(s.size() - x.size(), x.size(), x) == 0;
  };
  if (what.is_array()) {
    for (auto& p : what.arr())
      if (one(p)) return true;
    return false;
  }
  return one(what);
}

// str.format with {} / {0} / {name} fields (no format specs).
std::string py_format(const std::string& fmt, const CallArgs& a) {
  std::string out;
  size_t auto_index = 0;
  for (size_t i = 0; i < fmt.size(); ++i) {
    char c = fmt[i];
    if (c == '{' && i + 1 < fmt.size() && fmt[i + 1] == '{') {
      out += '{';
      ++i;
    } else if (c == '}' && i + 1 < fmt.size() && fmt[i + 1] == '}') {
      out += '}';
      ++i;
    } else if (c == '{') {
      size_t e = fmt.find('}', i);
      if (e == std::string::npos) fail_with("format: unmatched '{'");
      std::string field = fmt.substr(i + 1, e - i - 1);
      if (field.find(':') != std::string::npos || field.find('!') != std::string::npos)
        fail_with("format: conversions and format specs are not supported");
      const Value* v = nullptr;
      if (field.empty()) {
        if (auto_index >= a.pos.size()) fail_with("format: not enough arguments");
        v = &a.pos[auto_index++];
      } else if (std::all_of(field.begin(), field.end(), [](char d) { return d >= '0' && d <= '9'; })) {
        size_t k = std::stoul(field);
        if (k >= a.pos.size()) fail_with("format: index out of range");
        v = &a.pos[k];
      } else {
        for (auto& [k, x] : a.kw)
          if (k == field) v = &x;
        if (!v) fail_with("format: no argument named '" + field + "'");
      }
      out += v->to_str();
      i = e;
    } else if (c == '}') {
      fail_with("format: single '}'");
    } else {
      out += c;
    }
  }
  return out;
}

Value string_method(const Value& self, const std::string& name, CallArgs& a) {
  const std::string& s = self.str();
  const char* m = name.c_str();
  if (name == "strip" || name == "lstrip" || name == "rstrip")
    return Value(pystr::strip(s, opt_str(a, 0, "chars", m), name != "rstrip", name != "lstrip"));
  if (name == "split" || name == "rsplit") {
    const std::string* sep = opt_str(a, 0, "sep", m);
    long maxsplit = opt_int(a, 1, "maxsplit", -1);
    return str_list(name == "split" ? pystr::split(s, sep, maxsplit) : pystr::rsplit(s, sep, maxsplit));
  }
  if (name == "splitlines") {
    const Value* k = a.find(0, "keepends");
    return str_list(pystr::splitlines(s, k && k->truthy()));
  }
  if (name == "startswith" || name == "endswith") {
    const Value* w = a.find(0, "prefix");
    if (!w) fail_with(name + "() needs an argument");
    return Value(affix_match(s, *w, name == "startswith"));
  }
  if (name == "upper") return Value(pystr::upper(s));
  if (name == "lower") return Value(pystr::lower(s));
  if (name == "title") return Value(pystr::title(s));
  if (name == "capitalize") return Value(pystr::capitalize(s));
  if (name == "replace")
    return Value(pystr::replace(s, req_str(a, 0, "old", m), req_str(a, 1, "new", m), opt_int(a, 2, "count", -1)));
  if (name == "count") return Value(static_cast<int64_t>(pystr::count(s, req_str(a, 0, "sub", m))));
  if (name == "find" || name == "rfind" || name == "index" || name == "rindex") {
    long r = pystr::find(s, req_str(a, 0, "sub", m), name[0] == 'r');
    if (r < 0 && name.find("index") != std::string::npos) fail_with("substring not found");
    return Value(static_cast<int64_t>(r));
  }
  if (name == "join") {
    const Value* items = a.find(0, "iterable");
    if (!items) fail_with("join() needs an argument");
    std::string out;
    bool first = true;
    for (auto& x : iterate(*items)) {
      if (!x.is_string()) fail_with("join(): sequence item must be str, not " + x.type_name());
      if (!first) out += s;
      first = false;
      out += x.str();
    }
    return Value(out);
  }
  if (name == "format") return Value(py_format(s, a));
  if (name == "removeprefix" || name == "removesuffix") {
    const std::string& x = req_str(a, 0, "affix", m);
    bool pre = name == "removeprefix";
    if (x.size() <= s.size() && (pre ? s.compare(0, x.size(), x) == 0 : s.compare(s.size() - x.size(), x.size(), x) == 0))
      return Value(pre ? s.substr(x.size()) : s.substr(0, s.size() - x.size()));
    return self;
  }
  auto all_of = [&](auto pred) {
    std::u32string u = utf8_to_u32(s);
    return !u.empty() && std::all_of(u.begin(), u.end(), pred);
  };
  if (name == "isdigit") return Value(all_of([](char32_t c) { return c >= '0' && c <= '9'; }));
  if (name == "isspace") return Value(all_of([](char32_t c) { return pystr::is_space_cp(c); }));
  if (name == "isalpha") return Value(all_of([](char32_t c) { return u_isalpha(static_cast<UChar32>(c)) != 0; }));
  if (name == "isalnum") return Value(all_of([](char32_t c) { return u_isalnum(static_cast<UChar32>(c)) != 0; }));
  if (name == "islower") return Value(pystr::lower(s) == s && pystr::upper(s) != s);
  if (name == "isupper") return Value(pystr::upper(s) == s && pystr::lower(s) != s);
  fail_with("str has no method '" + name + "'");
}

Value dict_method(const Value& self, const std::string& name, CallArgs& a) {
  Object& o = self.obj();
  if (name == "items") {
    Array out;
    for (auto& [k, v] : o.items) out.push_back(Value::array({Value(k), v}, true));
    return Value::array(std::move(out));
  }
  if (name == "keys" || name == "values") {
    Array out;
    for (auto& [k, v] : o.items) out.push_back(name == "keys" ? Value(k) : v);
    return Value::array(std::move(out));
  }
  if (name == "get" || name == "pop" || name == "setdefault") {
    const Value* key = a.find(0, "key");
    if (!key) fail_with(name + "() needs a key");
    const Value* dflt = a.find(1, "default");
    if (!key->is_string()) return dflt ? *dflt : Value::none();
    const Value* found = o.find(key->str());
    if (name == "get") return found ? *found : (dflt ? *dflt : Value::none());
    if (name == "setdefault") {
      if (found) return *found;
      Value v = dflt ? *dflt : Value::none();
      o.set(key->str(), v);
      return v;
    }
    if (!found) {
      if (dflt) return *dflt;
      fail_with("pop(): key '" + key->str() + "' not found");
    }
    Value v = *found;
    o.erase(key->str());
    return v;
  }
  if (name == "update") {
    for (auto& v : a.pos) {
      if (!v.is_object()) fail_with("update() needs a dict");
      for (auto& [k, x] : v.obj().items) o.set(k, x);
    }
    for (auto& [k, x] : a.kw) o.set(k, x);
    return Value::none();
  }
  if (name == "copy") return Value::object(o);
  fail_with("dict has no method '" + name + "'");
}

Value list_method(const Value& self, const std::string& name, CallArgs& a) {
  Array& l = self.arr();
  if (self.is_tuple() && name != "index" && name != "count") fail_with("tuple has no method '" + name + "'");
  if (name == "append") {
    if (a.pos.size() != 1) fail_with("append() takes exactly one argument");
    l.push_back(a.pos[0]);
    return Value::none();
  }
  if (name == "extend") {
    if (a.pos.size() != 1) fail_with("extend() takes exactly one argument");
    for (auto& x : iterate(a.pos[0])) l.push_back(x);
    return Value::none();
  }
  if (name == "insert") {
    if (a.pos.size() != 2 || !a.pos[0].is_int()) fail_with("insert() takes an index and a value");
    int64_t n = static_cast<int64_t>(l.size()), i = a.pos[0].as_int();
    if (i < 0) i = std::max<int64_t>(i + n, 0);
    l.insert(l.begin() + std::min(i, n), a.pos[1]);
    return Value::none();
  }
  if (name == "pop") {
    if (l.empty()) fail_with("pop from empty list");
    int64_t n = static_cast<int64_t>(l.size());
    int64_t i = a.pos.empty() ? n - 1 : (a.pos[0].is_int() ? a.pos[0].as_int() : n);
    if (i < 0) i += n;
    if (i < 0 || i >= n) fail_with("pop index out of range");
    Value v = l[static_cast<size_t>(i)];
    l.erase(l.begin() + i);
    return v;
  }
  if (name == "index" || name == "count") {
    if (a.pos.empty()) fail_with(name + "() needs an argument");
    int64_t c = 0;
    for (size_t i = 0; i < l.size(); ++i) {
      if (!l[i].equals(a.pos[0])) continue;
      if (name == "index") return Value(static_cast<int64_t>(i));
      ++c;
    }
    if (name == "index") fail_with("value is not in list");
    return Value(c);
  }
  fail_with("list has no method '" + name + "'");
}

bool is_method_name(const Value& v, const std::string& n) {
  static const char* kStr[] = {"strip", "lstrip", "rstrip", "split", "rsplit", "splitlines", "startswith",
                               "endswith", "upper", "lower", "title", "capitalize", "replace", "count", "find",
                               "rfind", "index", "rindex", "join", "format", "isdigit", "isspace", "isalpha", "removeprefix", "removesuffix",
                               "isalnum", "islower", "isupper"};
  static const char* kDict[] = {"items", "keys", "values", "get", "pop", "setdefault", "update", "copy"};
  static const char* kList[] = {"append", "extend", "insert", "pop", "index", "count"};
  auto in = [&](auto& names) {
    for (const char* x : names)
      if (n == x) return true;
    return false;
  };
  if (v.is_string()) return in(kStr);
  if (v.is_object()) return in(kDict);
  if (v.is_array()) return in(kList);
  return false;
}

}  // namespace

Value method_of(const Value& value, const std::string& name) {
  if (!is_method_name(value, name)) return Value::undefined(name);
  Value self = value;  // lists and dicts are shared, so mutations reach the original
  return Value::function(name, [self, name](Interpreter&, CallArgs& a) {
    if (self.is_string()) return string_method(self, name, a);
    if (self.is_object()) return dict_method(self, name, a);
    return list_method(self, name, a);
  });
}

}  // namespace peft::jinja
