// Jinja's filters and tests, with the semantics of Jinja 3 as Hugging Face
// runs it (tojson is Hugging Face's own: json.dumps without key sorting and
// without HTML escaping).
#include "tokenizer/chat_template/builtins.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "tokenizer/chat_template/interpreter.h"
#include "tokenizer/chat_template/pystr.h"

namespace peft::jinja {

namespace {

[[noreturn]] void fail_with(const std::string& msg) { throw EvalError(msg); }

bool arg_bool(const CallArgs& a, size_t index, const char* name, bool dflt) {
  const Value* v = a.find(index, name);
  return v ? v->truthy() : dflt;
}

int64_t arg_int(const CallArgs& a, size_t index, const char* name, int64_t dflt) {
  const Value* v = a.find(index, name);
  if (!v || v->is_none()) return dflt;
  if (!v->is_int() && !v->is_bool()) fail_with(std::string("argument '") + name + "' must be an integer");
  return v->as_int();
}

std::string arg_str(const CallArgs& a, size_t index, const char* name, const std::string& dflt) {
  const Value* v = a.find(index, name);
  if (!v || v->is_none()) return dflt;
  if (!v->is_string()) fail_with(std::string("argument '") + name + "' must be a string");
  return v->str();
}

// Follows a dotted attribute path ("a.b" or "0") as Jinja's attribute= does.
Value lookup_path(Interpreter& in, const Value& v, const std::string& path) {
  Value cur = v;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t dot = path.find('.', pos);
    std::string part = path.substr(pos, dot == std::string::npos ? std::string::npos : dot - pos);
    bool digits = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
    cur = digits ? in.get_item(cur, Value(static_cast<int64_t>(std::stoll(part)))) : in.get_item(cur, Value(part));
    if (dot == std::string::npos) break;
    pos = dot + 1;
  }
  return cur;
}

Value make_pair(Value a, Value b) { return Value::array({std::move(a), std::move(b)}, true); }

// Sort key comparison; strings compared lowercased unless case_sensitive.
int sort_compare(const Value& a, const Value& b, bool case_sensitive) {
  try {
    if (!case_sensitive && a.is_string() && b.is_string())
      return compare_values(Value(pystr::lower(a.str())), Value(pystr::lower(b.str())));
    return compare_values(a, b);
  } catch (const std::runtime_error& e) {
    fail_with(e.what());
  }
}

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

// json.dumps(ensure_ascii=True) escapes every non-ASCII code point as \uXXXX
// (UTF-16 surrogate pairs above the BMP).
std::string ascii_escape(const std::string& json) {
  std::string out;
  for (char32_t c : utf8_to_u32(json)) {
    char b[16];
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else if (c < 0x10000) {
      std::snprintf(b, sizeof b, "\\u%04x", static_cast<unsigned>(c));
      out += b;
    } else {
      char32_t v = c - 0x10000;
      std::snprintf(b, sizeof b, "\\u%04x\\u%04x", static_cast<unsigned>(0xD800 + (v >> 10)),
                    static_cast<unsigned>(0xDC00 + (v & 0x3FF)));
      out += b;
    }
  }
  return out;
}

Value tojson(const Value& v, const CallArgs& a) {
  // Hugging Face: tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False).
  bool ensure_ascii = arg_bool(a, 0, "ensure_ascii", false);
  int indent = -1;
  std::string indent_str;
  if (const Value* iv = a.find(1, "indent"); iv && !iv->is_none()) {
    if (iv->is_int()) indent = static_cast<int>(std::clamp<int64_t>(iv->as_int(), 0, 64));
    else fail_with("tojson: indent must be an integer");
  }
  std::string item_sep = indent >= 0 ? "," : ", ", key_sep = ": ";
  if (const Value* sv = a.find(2, "separators"); sv && !sv->is_none()) {
    if (!sv->is_array() || sv->arr().size() != 2 || !sv->arr()[0].is_string() || !sv->arr()[1].is_string())
      fail_with("tojson: separators must be a pair of strings");
    item_sep = sv->arr()[0].str();
    key_sep = sv->arr()[1].str();
  }
  bool sort_keys = arg_bool(a, 3, "sort_keys", false);
  std::string out;
  try {
    out = to_json(v, indent, item_sep, key_sep, sort_keys);
  } catch (const EvalError&) {
    throw;
  } catch (const std::runtime_error& e) {
    fail_with(std::string("tojson: ") + e.what());
  }
  return Value(ensure_ascii ? ascii_escape(out) : out);
}

Value indent_filter(const Value& v, const CallArgs& a) {
  std::string ind;
  const Value* w = a.find(0, "width");
  if (w && w->is_string()) ind = w->str();
  else ind = std::string(static_cast<size_t>(std::clamp<int64_t>(arg_int(a, 0, "width", 4), 0, 1024)), ' ');
  bool first = arg_bool(a, 1, "first", false), blank = arg_bool(a, 2, "blank", false);
  // Jinja appends "\n" before splitting so a trailing newline yields an empty last line.
  std::vector<std::string> lines = pystr::splitlines(v.to_str() + "\n", false);
  std::string rv;
  if (blank) {
    for (size_t i = 0; i < lines.size(); ++i) rv += (i ? "\n" + ind : "") + lines[i];
  } else if (!lines.empty()) {
    rv = lines[0];
    for (size_t i = 1; i < lines.size(); ++i) rv += "\n" + (lines[i].empty() ? "" : ind + lines[i]);
  }
  return Value(first ? ind + rv : rv);
}

// Python's round(x, n): halves go to even on the scaled value.
double py_round(double x, int64_t digits) {
  double p = std::pow(10.0, static_cast<double>(digits));
  double y = x * p;
  double r = std::nearbyint(y);
  return r / p;
}

Value round_filter(const Value& v, const CallArgs& a) {
  if (!v.is_number() && !v.is_bool()) fail_with("round: expected a number, got " + v.type_name());
  int64_t prec = arg_int(a, 0, "precision", 0);
  std::string method = arg_str(a, 1, "method", "common");
  double x = v.as_double(), p = std::pow(10.0, static_cast<double>(prec));
  if (method == "common") return v.is_float() ? Value(py_round(x, prec)) : Value(v.as_int());  // round(int) stays int
  if (method == "ceil") return Value(std::ceil(x * p) / p);
  if (method == "floor") return Value(std::floor(x * p) / p);
  fail_with("round: method must be common, ceil or floor");
}

Value to_int(const Value& v, const CallArgs& a) {
  int64_t dflt = arg_int(a, 0, "default", 0);
  int64_t base = arg_int(a, 1, "base", 10);
  if (v.is_int() || v.is_bool()) return Value(v.as_int());
  if (v.is_float()) return std::isfinite(v.as_double()) ? Value(float_to_int(v.as_double())) : Value(dflt);
  if (v.is_string()) {
    std::string s = pystr::strip(v.str(), nullptr, true, true);
    std::string t;
    for (char c : s)
      if (c != '_') t += c;
    try {
      size_t used = 0;
      long long r = std::stoll(t, &used, static_cast<int>(base));
      if (used == t.size()) return Value(static_cast<int64_t>(r));
    } catch (const std::exception&) {
    }
    try {  // Jinja falls back to int(float(s)).
      size_t used = 0;
      double d = std::stod(t, &used);
      if (used == t.size() && std::isfinite(d)) return Value(float_to_int(d));
    } catch (const std::exception&) {
    }
  }
  return Value(dflt);
}

Value to_float(const Value& v, const CallArgs& a) {
  const Value* d = a.find(0, "default");
  Value dflt = d ? *d : Value(0.0);
  if (v.is_number() || v.is_bool()) return Value(v.as_double());
  if (v.is_string()) {
    std::string s = pystr::strip(v.str(), nullptr, true, true);
    try {
      size_t used = 0;
      double r = std::stod(s, &used);
      if (used == s.size()) return Value(r);
    } catch (const std::exception&) {
    }
  }
  return dflt;
}

// select/reject and selectattr/rejectattr: keep items whose test (or, with
// no test, truthiness) equals `keep`.
Value select_items(Interpreter& in, const Value& v, CallArgs& a, bool by_attr, bool keep) {
  size_t next = 0;
  std::string attr;
  if (by_attr) {
    if (a.pos.empty() || !a.pos[0].is_string()) fail_with("selectattr/rejectattr need an attribute name");
    attr = a.pos[0].str();
    next = 1;
  }
  std::string test;
  CallArgs test_args;
  if (next < a.pos.size()) {
    if (!a.pos[next].is_string()) fail_with("the test name must be a string");
    test = a.pos[next].str();
    if (!is_known_test(test)) fail_with("unknown test '" + test + "'");
    test_args.pos.assign(a.pos.begin() + static_cast<long>(next) + 1, a.pos.end());
  }
  test_args.kw = a.kw;
  Array out;
  for (auto& item : iterate(v)) {
    Value x = by_attr ? lookup_path(in, item, attr) : item;
    bool r = test.empty() ? x.truthy() : apply_test(in, test, x, test_args);
    if (r == keep) out.push_back(item);
  }
  return Value::array(std::move(out));
}

Value map_filter(Interpreter& in, const Value& v, CallArgs& a) {
  Array out;
  if (const Value* attr = a.find(99, "attribute")) {
    if (!attr->is_string()) fail_with("map: attribute must be a string");
    const Value* dflt = nullptr;
    for (auto& [k, x] : a.kw)
      if (k == "default") dflt = &x;
    for (auto& item : iterate(v)) {
      Value r = lookup_path(in, item, attr->str());
      out.push_back(r.is_undefined() && dflt ? *dflt : r);
    }
    return Value::array(std::move(out));
  }
  if (a.pos.empty() || !a.pos[0].is_string()) fail_with("map needs a filter name or attribute=");
  std::string name = a.pos[0].str();
  if (!is_known_filter(name)) fail_with("unknown filter '" + name + "'");
  CallArgs rest;
  rest.pos.assign(a.pos.begin() + 1, a.pos.end());
  rest.kw = a.kw;
  for (auto& item : iterate(v)) {
    CallArgs copy = rest;
    out.push_back(apply_filter(in, name, item, copy));
  }
  return Value::array(std::move(out));
}

Value sort_filter(Interpreter& in, const Value& v, const CallArgs& a) {
  bool reverse = arg_bool(a, 0, "reverse", false), cs = arg_bool(a, 1, "case_sensitive", false);
  const Value* attr = a.find(2, "attribute");
  Array items = iterate(v);
  auto key = [&](const Value& x) { return attr && attr->is_string() ? lookup_path(in, x, attr->str()) : x; };
  std::stable_sort(items.begin(), items.end(), [&](const Value& x, const Value& y) {
    int c = sort_compare(key(x), key(y), cs);
    return reverse ? c > 0 : c < 0;
  });
  return Value::array(std::move(items));
}

Value dictsort_filter(const Value& v, const CallArgs& a) {
  if (!v.is_object()) fail_with("dictsort: expected a dict, got " + v.type_name());
  bool cs = arg_bool(a, 0, "case_sensitive", false);
  std::string by = arg_str(a, 1, "by", "key");
  bool reverse = arg_bool(a, 2, "reverse", false);
  if (by != "key" && by != "value") fail_with("dictsort: 'by' must be key or value");
  Array items;
  for (auto& [k, x] : v.obj().items) items.push_back(make_pair(Value(k), x));
  size_t idx = by == "key" ? 0 : 1;
  std::stable_sort(items.begin(), items.end(), [&](const Value& x, const Value& y) {
    int c = sort_compare(x.arr()[idx], y.arr()[idx], cs);
    return reverse ? c > 0 : c < 0;
  });
  return Value::array(std::move(items));
}

Value unique_filter(Interpreter& in, const Value& v, const CallArgs& a) {
  bool cs = arg_bool(a, 0, "case_sensitive", false);
  const Value* attr = a.find(1, "attribute");
  Array out, seen;
  for (auto& item : iterate(v)) {
    Value k = attr && attr->is_string() ? lookup_path(in, item, attr->str()) : item;
    if (!cs && k.is_string()) k = Value(pystr::lower(k.str()));
    bool dup = false;
    for (auto& s : seen)
      if (s.equals(k)) dup = true;
    if (!dup) {
      seen.push_back(k);
      out.push_back(item);
    }
  }
  return Value::array(std::move(out));
}

Value minmax_filter(Interpreter& in, const Value& v, const CallArgs& a, bool want_max) {
  bool cs = arg_bool(a, 0, "case_sensitive", false);
  const Value* attr = a.find(1, "attribute");
  Array items = iterate(v);
  if (items.empty()) return Value::undefined();
  size_t best = 0;
  auto key = [&](const Value& x) { return attr && attr->is_string() ? lookup_path(in, x, attr->str()) : x; };
  for (size_t i = 1; i < items.size(); ++i) {
    int c = sort_compare(key(items[i]), key(items[best]), cs);
    if (want_max ? c > 0 : c < 0) best = i;
  }
  return items[best];
}

// Jinja's title filter: words start after whitespace, '-', or an opening bracket.
std::string jinja_title(const std::string& s) {
  std::u32string u = utf8_to_u32(s);
  std::string out, word;
  auto is_sep = [](char32_t c) { return pystr::is_space_cp(c) || c == '-' || c == '(' || c == '{' || c == '[' || c == '<'; };
  size_t i = 0;
  while (i < u.size()) {
    size_t j = i;
    bool sep = is_sep(u[i]);
    while (j < u.size() && is_sep(u[j]) == sep) ++j;
    std::string part = u32_to_utf8(u.substr(i, j - i));
    if (sep) out += part;
    else out += pystr::upper(u32_to_utf8(u.substr(i, 1))) + pystr::lower(u32_to_utf8(u.substr(i + 1, j - i - 1)));
    i = j;
  }
  return out;
}

const std::set<std::string>& filter_names() {
  static const std::set<std::string> k = {
      "abs", "attr", "batch", "capitalize", "count", "d", "default", "dictsort", "e", "escape", "first", "float", "format",
      "indent", "int", "items", "join", "last", "length", "list", "lower", "map", "max", "min", "reject",
      "rejectattr", "replace", "reverse", "round", "safe", "select", "selectattr", "sort", "string", "sum",
      "title", "tojson", "trim", "unique", "upper", "wordcount"};
  return k;
}

const std::set<std::string>& test_names() {
  static const std::set<std::string> k = {
      "boolean", "callable", "defined", "divisibleby", "eq", "equalto", "even", "false", "float", "ge", "greaterthan",
      "gt", "in", "integer", "iterable", "le", "lessthan", "lower", "lt", "mapping", "ne", "none", "number", "odd",
      "sameas", "sequence", "string", "true", "undefined", "upper", "==", "!=", "<", "<=", ">", ">="};
  return k;
}

}  // namespace

bool is_known_filter(const std::string& name) { return filter_names().count(name) > 0; }
bool is_known_test(const std::string& name) { return test_names().count(name) > 0; }

Value apply_filter(Interpreter& in, const std::string& name, const Value& v, CallArgs& a) {
  const std::string& n = name;
  if (n == "default" || n == "d") {
    const Value* d = a.find(0, "default_value");
    bool boolean = arg_bool(a, 1, "boolean", false);
    if (v.is_undefined() || (boolean && !v.truthy())) return d ? *d : Value("");
    return v;
  }
  if (n == "safe") return v;
  if (n == "string") return v.is_string() ? v : Value(v.to_str());
  if (n == "tojson") return tojson(v, a);
  if (n == "length" || n == "count") {
    if (v.is_string()) return Value(static_cast<int64_t>(pystr::length(v.str())));
    if (v.is_array()) return Value(static_cast<int64_t>(v.arr().size()));
    if (v.is_object()) return Value(static_cast<int64_t>(v.obj().items.size()));
    if (v.is_undefined()) return Value(0);
    fail_with("object of type '" + v.type_name() + "' has no len()");
  }
  if (n == "items") {
    if (v.is_undefined()) return Value::array();
    if (!v.is_object()) fail_with("items: expected a dict, got " + v.type_name());
    Array out;
    for (auto& [k, x] : v.obj().items) out.push_back(make_pair(Value(k), x));
    return Value::array(std::move(out));
  }
  if (n == "list") return Value::array(iterate(v));
  if (n == "first" || n == "last") {
    Array items = iterate(v);
    if (items.empty()) return Value::undefined();
    return n == "first" ? items.front() : items.back();
  }
  if (n == "join") {
    std::string sep = arg_str(a, 0, "d", "");
    const Value* attr = a.find(1, "attribute");
    std::string out;
    bool first = true;
    for (auto& item : iterate(v)) {
      if (!first) out += sep;
      first = false;
      out += (attr && attr->is_string() ? lookup_path(in, item, attr->str()) : item).to_str();
    }
    return Value(out);
  }
  if (n == "map") return map_filter(in, v, a);
  if (n == "select" || n == "reject") return select_items(in, v, a, false, n == "select");
  if (n == "selectattr" || n == "rejectattr") return select_items(in, v, a, true, n == "selectattr");
  if (n == "attr") {
    std::string key = arg_str(a, 0, "name", "");
    return in.get_attr(v, key);
  }
  if (n == "abs") {
    if (v.is_int() || v.is_bool()) return Value(v.as_int() < 0 ? checked_sub(0, v.as_int()) : v.as_int());
    if (v.is_float()) return Value(std::fabs(v.as_double()));
    fail_with("bad operand type for abs(): '" + v.type_name() + "'");
  }
  if (n == "int") return to_int(v, a);
  if (n == "float") return to_float(v, a);
  if (n == "round") return round_filter(v, a);
  if (n == "sort") return sort_filter(in, v, a);
  if (n == "dictsort") return dictsort_filter(v, a);
  if (n == "unique") return unique_filter(in, v, a);
  if (n == "max" || n == "min") return minmax_filter(in, v, a, n == "max");
  if (n == "reverse") {
    if (v.is_string()) {
      std::u32string u = utf8_to_u32(v.str());
      std::reverse(u.begin(), u.end());
      return Value(u32_to_utf8(u));
    }
    Array items = iterate(v);
    std::reverse(items.begin(), items.end());
    return Value::array(std::move(items));
  }
  if (n == "sum") {
    const Value* attr = a.find(0, "attribute");
    const Value* start = a.find(1, "start");
    Value total = start ? *start : Value(0);
    for (auto& item : iterate(v)) {
      Value x = attr && attr->is_string() ? lookup_path(in, item, attr->str()) : item;
      if (!(x.is_number() || x.is_bool()) || !(total.is_number() || total.is_bool()))
        fail_with("sum: items must be numbers");
      total = (total.is_float() || x.is_float()) ? Value(total.as_double() + x.as_double())
                                                 : Value(checked_add(total.as_int(), x.as_int()));
    }
    return total;
  }
  if (n == "batch") {
    int64_t size = arg_int(a, 0, "linecount", 1);
    if (size <= 0) fail_with("batch: size must be positive");
    const Value* fill = a.find(1, "fill_with");
    Array out, cur;
    for (auto& item : iterate(v)) {
      cur.push_back(item);
      if (static_cast<int64_t>(cur.size()) == size) {
        out.push_back(Value::array(std::move(cur)));
        cur.clear();
      }
    }
    if (!cur.empty()) {
      if (fill && !fill->is_none())
        while (static_cast<int64_t>(cur.size()) < size) cur.push_back(*fill);
      out.push_back(Value::array(std::move(cur)));
    }
    return Value::array(std::move(out));
  }
  if (n == "indent") return indent_filter(v, a);
  if (n == "format") {
    // Jinja: value % (args) or value % {kwargs}, never both.
    if (!a.pos.empty() && !a.kw.empty()) fail_with("format: positional and keyword arguments cannot be mixed");
    if (!a.kw.empty()) {
      Object o;
      for (auto& [k, x] : a.kw) o.set(k, x);
      return Value(percent_format(v.to_str(), Value::object(std::move(o))));
    }
    return Value(percent_format(v.to_str(), Value::array(a.pos, true)));
  }
  if (n == "wordcount") {
    // Jinja counts matches of \w+.
    int64_t count = 0;
    bool in_word = false;
    for (char32_t c : utf8_to_u32(v.to_str())) {
      bool w = c == '_' || (c < 0x80 ? std::isalnum(static_cast<int>(c)) != 0 : !pystr::is_space_cp(c));
      if (w && !in_word) ++count;
      in_word = w;
    }
    return Value(count);
  }
  // The rest work on the text of the value.
  std::string s = v.to_str();
  if (n == "trim") {
    const Value* chars = a.find(0, "chars");
    std::string cs = chars && chars->is_string() ? chars->str() : "";
    return Value(pystr::strip(s, chars && chars->is_string() ? &cs : nullptr, true, true));
  }
  if (n == "upper") return Value(pystr::upper(s));
  if (n == "lower") return Value(pystr::lower(s));
  if (n == "capitalize") return Value(pystr::capitalize(s));
  if (n == "title") return Value(jinja_title(s));
  if (n == "escape" || n == "e") return Value(html_escape(s));
  if (n == "replace") {
    std::string from = a.find(0, "old") ? a.find(0, "old")->to_str() : "";
    std::string to = a.find(1, "new") ? a.find(1, "new")->to_str() : "";
    return Value(pystr::replace(s, from, to, arg_int(a, 2, "count", -1)));
  }
  fail_with("unknown filter '" + n + "'");
}

bool apply_test(Interpreter& in, const std::string& n, const Value& v, CallArgs& a) {
  auto other = [&]() -> const Value& {
    if (a.pos.empty()) fail_with("test '" + n + "' needs an argument");
    return a.pos[0];
  };
  auto cmp = [&](const Value& x, const Value& y) {
    try {
      return compare_values(x, y);
    } catch (const std::runtime_error& e) {
      fail_with(e.what());
    }
  };
  if (n == "defined") return !v.is_undefined();
  if (n == "undefined") return v.is_undefined();
  if (n == "none") return v.is_none();
  if (n == "boolean") return v.is_bool();
  if (n == "true") return v.is_bool() && v.as_bool();
  if (n == "false") return v.is_bool() && !v.as_bool();
  if (n == "integer") return v.is_int();
  if (n == "float") return v.is_float();
  if (n == "number") return v.is_number() || v.is_bool();
  if (n == "string") return v.is_string();
  if (n == "mapping") return v.is_object();
  if (n == "iterable") return v.is_string() || v.is_array() || v.is_object() || v.is_undefined();
  if (n == "sequence") return v.is_string() || v.is_array() || v.is_object() || v.is_undefined();
  if (n == "callable") return v.is_function();
  if (n == "lower") return v.is_string() && pystr::lower(v.str()) == v.str();
  if (n == "upper") return v.is_string() && pystr::upper(v.str()) == v.str();
  if (n == "even" || n == "odd") {
    if (!v.is_int() && !v.is_bool()) fail_with("test '" + n + "' needs an integer, got " + v.type_name());
    bool even = v.as_int() % 2 == 0;
    return n == "even" ? even : !even;
  }
  if (n == "divisibleby") {
    const Value& d = other();
    if (!(v.is_int() || v.is_bool()) || !(d.is_int() || d.is_bool()) || d.as_int() == 0)
      fail_with("divisibleby needs integers and a non-zero divisor");
    return v.as_int() % d.as_int() == 0;
  }
  if (n == "eq" || n == "equalto" || n == "==") return v.equals(other());
  if (n == "ne" || n == "!=") return !v.equals(other());
  if (n == "lt" || n == "lessthan" || n == "<") return cmp(v, other()) < 0;
  if (n == "le" || n == "<=") return cmp(v, other()) <= 0;
  if (n == "gt" || n == "greaterthan" || n == ">") return cmp(v, other()) > 0;
  if (n == "ge" || n == ">=") return cmp(v, other()) >= 0;
  if (n == "sameas") {
    const Value& o = other();
    if (v.kind() != o.kind()) return false;
    if (v.is_none() || v.is_undefined()) return true;
    if (v.is_bool()) return v.as_bool() == o.as_bool();
    return v.equals(o) && (v.is_int() || v.is_float() || v.is_string());
  }
  if (n == "in") {
    const Value& seq = other();
    if (seq.is_string()) return v.is_string() && seq.str().find(v.str()) != std::string::npos;
    if (seq.is_object()) return v.is_string() && seq.obj().find(v.str()) != nullptr;
    for (auto& x : iterate(seq))
      if (x.equals(v)) return true;
    return false;
  }
  (void)in;
  fail_with("unknown test '" + n + "'");
}

}  // namespace peft::jinja
