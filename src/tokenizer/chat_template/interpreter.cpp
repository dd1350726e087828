#include "tokenizer/chat_template/interpreter.h"

#include <cmath>
#include <ctime>

#include "tokenizer/chat_template/builtins.h"
#include "tokenizer/utf8.h"

namespace peft::jinja {

namespace {

constexpr int kMaxCallDepth = 200;              // nested macro calls
constexpr int kMaxFrames = 2000;                // nested statements and expressions, macros included
constexpr int64_t kMaxRange = 1'000'000;        // items range() or list repetition may build

[[noreturn]] void eval_fail(const std::string& msg) { throw EvalError(msg); }

std::string binop_error(const std::string& op, const Value& a, const Value& b) {
  return "unsupported operand type(s) for " + op + ": '" + a.type_name() + "' and '" + b.type_name() + "'";
}

bool is_intlike(const Value& v) { return v.is_int() || v.is_bool(); }

// Python's floor division and modulo on integers.
int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

Value dict_from_args(CallArgs& args, bool is_namespace) {
  Object o;
  o.is_namespace = is_namespace;
  for (auto& v : args.pos) {
    if (v.is_object()) {
      for (auto& [k, x] : v.obj().items) o.set(k, x);
    } else if (v.is_array()) {
      for (auto& pair : v.arr()) {
        if (!pair.is_array() || pair.arr().size() != 2 || !pair.arr()[0].is_string())
          eval_fail("dict() needs (key, value) pairs with string keys");
        o.set(pair.arr()[0].str(), pair.arr()[1]);
      }
    } else {
      eval_fail("dict() needs a mapping or a list of pairs, got " + v.type_name());
    }
  }
  for (auto& [k, v] : args.kw) o.set(k, v);
  return Value::object(std::move(o));
}

}  // namespace

std::u32string utf8_to_u32(const std::string& s) {
  std::u32string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const size_t start = i;
    uint32_t cp = utf8_next(s, i);
    // utf8_next passes a malformed byte through as itself, one byte long;
    // only ASCII is legitimately one byte, so anything else becomes U+FFFD.
    if (i - start == 1 && cp >= 0x80) cp = 0xFFFD;
    out += static_cast<char32_t>(cp);
  }
  return out;
}

std::string u32_to_utf8(const std::u32string& s) {
  std::string out;
  out.reserve(s.size());
  for (char32_t cp : s) utf8_append(out, static_cast<uint32_t>(cp));
  return out;
}

Array iterate(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::Undefined: return {};
    case Value::Kind::Array: return v.arr();
    case Value::Kind::Object: {
      Array keys;
      for (auto& kv : v.obj().items) keys.push_back(Value(kv.first));
      return keys;
    }
    case Value::Kind::String: {
      // One Value per character is ~100 bytes a byte: bounded like a list.
      if (v.str().size() > static_cast<size_t>(kMaxRange))
        eval_fail("cannot iterate over a string of " + std::to_string(v.str().size()) + " bytes (more than " +
                  std::to_string(kMaxRange) + ")");
      Array chars;
      for (char32_t c : utf8_to_u32(v.str())) chars.push_back(Value(u32_to_utf8(std::u32string(1, c))));
      return chars;
    }
    default: eval_fail("'" + v.type_name() + "' object is not iterable");
  }
}

std::string Interpreter::render(const NodeList& nodes, const Object& context) {
  globals_.vars.clear();
  globals_.vars["range"] = Value::function("range", [](Interpreter&, CallArgs& a) {
    if (a.pos.empty() || a.pos.size() > 3) eval_fail("range() takes 1 to 3 arguments");
    for (auto& v : a.pos)
      if (!is_intlike(v)) eval_fail("range() needs integers, got " + v.type_name());
    int64_t start = 0, stop, step = 1;
    if (a.pos.size() == 1) {
      stop = a.pos[0].as_int();
    } else {
      start = a.pos[0].as_int();
      stop = a.pos[1].as_int();
      if (a.pos.size() == 3) step = a.pos[2].as_int();
    }
    if (step == 0) eval_fail("range() step must not be zero");
    Array out;
    for (int64_t i = start; step > 0 ? i < stop : i > stop;) {
      if (static_cast<int64_t>(out.size()) >= kMaxRange) eval_fail("range() too large");
      out.push_back(Value(i));
      if (__builtin_add_overflow(i, step, &i)) break;  // past the int64 range is past stop
    }
    return Value::array(std::move(out));
  });
  globals_.vars["namespace"] =
      Value::function("namespace", [](Interpreter&, CallArgs& a) { return dict_from_args(a, true); });
  globals_.vars["dict"] = Value::function("dict", [](Interpreter&, CallArgs& a) { return dict_from_args(a, false); });
  globals_.vars["raise_exception"] = Value::function("raise_exception", [](Interpreter&, CallArgs& a) -> Value {
    throw RaisedError(a.pos.empty() ? std::string("raise_exception() called") : a.pos[0].to_str());
  });
  globals_.vars["strftime_now"] = Value::function("strftime_now", [](Interpreter& in, CallArgs& a) {
    if (a.pos.size() != 1 || !a.pos[0].is_string()) eval_fail("strftime_now() needs one format string");
    std::time_t t = std::chrono::system_clock::to_time_t(in.now());
    std::tm tm{};
    localtime_r(&t, &tm);
    char buf[512];
    size_t n = std::strftime(buf, sizeof buf, a.pos[0].str().c_str(), &tm);
    return Value(std::string(buf, n));
  });

  Scope root;
  root.parent = &globals_;
  for (auto& [k, v] : context.items) root.vars[k] = v;
  root_ = &root;
  std::string out;
  root_out_ = &out;
  spans_.clear();
  exec_list(nodes, root, out);
  root_ = nullptr;
  root_out_ = nullptr;
  return out;
}

Interpreter::Flow Interpreter::exec_list(const NodeList& nodes, Scope& scope, std::string& out) {
  for (auto& n : nodes) {
    Flow f = exec(*n, scope, out);
    if (f != Flow::Normal) return f;
    if (out.size() > limits_.max_bytes)
      eval_fail("rendered text is larger than " + std::to_string(limits_.max_bytes) + " bytes");
  }
  return Flow::Normal;
}

Interpreter::Deeper::Deeper(Interpreter& in) : in_(in) {
  in_.charge(1);
  if (++in_.rdepth_ > kMaxFrames) {
    --in_.rdepth_;
    eval_fail("template recursion too deep");
  }
}

Interpreter::Flow Interpreter::exec(const Node& n, Scope& scope, std::string& out) {
  Deeper guard(*this);
  line_ = n.line;
  switch (n.kind) {
    case Node::Kind::Text: out += n.text; break;
    case Node::Kind::Output: out += eval(*n.expr, scope).to_str(); break;
    case Node::Kind::If:
      for (auto& [cond, body] : n.branches) {
        line_ = cond->line;
        if (eval(*cond, scope).truthy()) return exec_list(body, scope, out);
      }
      return exec_list(n.else_body, scope, out);
    case Node::Kind::For: {
      Flow flow = Flow::Normal;
      exec_for(n, scope, out, flow);
      return flow;
    }
    case Node::Kind::Set: assign(*n.target, eval(*n.expr, scope), scope); break;
    case Node::Kind::SetBlock: {
      std::string body;
      Scope inner;
      inner.parent = &scope;
      Flow f = exec_list(n.body, inner, body);
      Value v(std::move(body));
      if (n.filter) {
        inner.vars[kBlockBodyName] = v;
        v = eval(*n.filter, inner);
      }
      assign(*n.target, v, scope);
      if (f != Flow::Normal) return f;
      break;
    }
    case Node::Kind::FilterBlock: {
      std::string body;
      Scope inner;
      inner.parent = &scope;
      Flow f = exec_list(n.body, inner, body);
      inner.vars[kBlockBodyName] = Value(std::move(body));
      out += eval(*n.filter, inner).to_str();
      return f;
    }
    case Node::Kind::Macro: scope.vars[n.text] = make_macro(n, scope); break;
    case Node::Kind::CallBlock: {
      Scope* call_scope = &scope;
      const Node* node = &n;
      Value caller = Value::function("caller", [this, node, call_scope](Interpreter&, CallArgs& a) {
        Scope s;
        s.parent = call_scope;
        for (size_t i = 0; i < node->params.size(); ++i) {
          if (i < a.pos.size()) s.vars[node->params[i]] = a.pos[i];
          else if (node->defaults[i]) s.vars[node->params[i]] = eval(*node->defaults[i], s);
          else s.vars[node->params[i]] = Value::undefined(node->params[i]);
        }
        std::string body;
        exec_list(node->body, s, body);
        return Value(std::move(body));
      });
      out += eval_call(*n.expr, scope, &caller).to_str();
      break;
    }
    case Node::Kind::Break: return Flow::Break;
    case Node::Kind::Continue: return Flow::Continue;
    case Node::Kind::Do: eval(*n.expr, scope); break;
    case Node::Kind::Generation: {
      // Spans are byte offsets into the final text, so only blocks that write
      // straight into it count (not ones inside macros or set blocks).
      size_t start = out.size();
      Flow f = exec_list(n.body, scope, out);
      if (&out == root_out_ && out.size() > start) spans_.emplace_back(start, out.size());
      return f;
    }
  }
  return Flow::Normal;
}

void Interpreter::exec_for(const Node& n, Scope& scope, std::string& out, Flow& flow) {
  Array items = iterate(eval(*n.expr, scope));
  if (n.cond) {
    // `for x in xs if cond`: the loop variables (index, length, ...) count
    // only the items that pass.
    Array kept;
    for (auto& item : items) {
      Scope s;
      s.parent = &scope;
      assign(*n.target, item, s);
      if (eval(*n.cond, s).truthy()) kept.push_back(item);
    }
    items = std::move(kept);
  }
  if (items.empty()) {
    flow = exec_list(n.else_body, scope, out);
    return;
  }
  const int64_t len = static_cast<int64_t>(items.size());
  for (int64_t i = 0; i < len; ++i) {
    charge(1);  // an empty body costs nothing else, and loops nest
    Scope s;
    s.parent = &scope;
    assign(*n.target, items[i], s);
    Object loop;
    loop.items.reserve(12);
    loop.set("index", Value(i + 1));
    loop.set("index0", Value(i));
    loop.set("revindex", Value(len - i));
    loop.set("revindex0", Value(len - i - 1));
    loop.set("first", Value(i == 0));
    loop.set("last", Value(i == len - 1));
    loop.set("length", Value(len));
    loop.set("depth", Value(1));
    loop.set("depth0", Value(0));
    if (i > 0) loop.set("previtem", items[i - 1]);
    if (i + 1 < len) loop.set("nextitem", items[i + 1]);
    loop.set("cycle", Value::function("cycle", [i](Interpreter&, CallArgs& a) {
      if (a.pos.empty()) eval_fail("loop.cycle() needs at least one value");
      return a.pos[static_cast<size_t>(i) % a.pos.size()];
    }));
    s.vars["loop"] = Value::object(std::move(loop));
    Flow f = exec_list(n.body, s, out);
    if (f == Flow::Break) break;
  }
}

void Interpreter::assign(const Expr& target, Value v, Scope& scope) {
  switch (target.kind) {
    case Expr::Kind::Name: scope.vars[target.name] = std::move(v); return;
    case Expr::Kind::Tuple: {
      Array items = iterate(v);
      if (items.size() != target.args.size())
        eval_fail("cannot unpack " + std::to_string(items.size()) + " values into " +
                  std::to_string(target.args.size()) + " names");
      for (size_t i = 0; i < items.size(); ++i) assign(*target.args[i], items[i], scope);
      return;
    }
    case Expr::Kind::Attr: {
      Value obj = eval(*target.args[0], scope);
      if (!obj.is_object() || !obj.obj().is_namespace)
        eval_fail("cannot assign attribute '" + target.name + "' on a " + obj.type_name() +
                  " (only namespace() objects take attributes)");
      obj.obj().set(target.name, std::move(v));
      return;
    }
    default: eval_fail("cannot assign to this expression");
  }
}

Value Interpreter::make_macro(const Node& n, Scope&) {
  const Node* node = &n;
  return Value::function(n.text, [node](Interpreter& in, CallArgs& a) {
    if (in.depth_ >= kMaxCallDepth) eval_fail("macro calls nested too deeply (recursion?)");
    Scope s;
    s.parent = in.root_;
    std::vector<bool> bound(node->params.size(), false);
    for (size_t i = 0; i < a.pos.size() && i < node->params.size(); ++i) {
      s.vars[node->params[i]] = a.pos[i];
      bound[i] = true;
    }
    Array varargs;
    for (size_t i = node->params.size(); i < a.pos.size(); ++i) varargs.push_back(a.pos[i]);
    Object kwargs;
    for (auto& [k, v] : a.kw) {
      size_t i = 0;
      while (i < node->params.size() && node->params[i] != k) ++i;
      if (i < node->params.size()) {
        if (bound[i]) eval_fail("macro '" + node->text + "' got multiple values for argument '" + k + "'");
        s.vars[k] = v;
        bound[i] = true;
      } else if (k == "caller") {
        s.vars["caller"] = v;
      } else {
        kwargs.set(k, v);
      }
    }
    for (size_t i = 0; i < node->params.size(); ++i) {
      if (bound[i]) continue;
      s.vars[node->params[i]] =
          node->defaults[i] ? in.eval(*node->defaults[i], s) : Value::undefined(node->params[i]);
    }
    s.vars["varargs"] = Value::array(std::move(varargs));
    s.vars["kwargs"] = Value::object(std::move(kwargs));
    std::string out;
    int saved_line = in.line_;
    ++in.depth_;
    try {
      in.exec_list(node->body, s, out);
    } catch (...) {
      --in.depth_;
      throw;
    }
    --in.depth_;
    in.line_ = saved_line;
    return Value(std::move(out));
  });
}

Value Interpreter::call(const Value& fn, CallArgs& args) {
  if (!fn.is_function()) {
    if (fn.is_undefined()) eval_fail("'" + (fn.str().empty() ? std::string("value") : fn.str()) + "' is undefined");
    eval_fail("'" + fn.type_name() + "' object is not callable");
  }
  return fn.fn()(*this, args);
}

CallArgs Interpreter::eval_args(const Expr& e, Scope& scope) {
  CallArgs args;
  for (size_t i = 1; i < e.args.size(); ++i) args.pos.push_back(eval(*e.args[i], scope));
  if (e.star_args)
    for (auto& x : iterate(eval(*e.star_args, scope))) args.pos.push_back(x);
  for (auto& [k, x] : e.kwargs) args.kw.emplace_back(k, eval(*x, scope));
  if (e.star_kwargs) {
    Value d = eval(*e.star_kwargs, scope);
    if (!d.is_object()) {
      line_ = e.line;
      eval_fail("argument after ** must be a mapping, not " + d.type_name());
    }
    for (auto& [k, x] : d.obj().items) args.kw.emplace_back(k, x);
  }
  return args;
}

Value Interpreter::eval_call(const Expr& e, Scope& scope, const Value* caller) {
  Value fn = eval(*e.args[0], scope);
  CallArgs args = eval_args(e, scope);
  if (caller) args.kw.emplace_back("caller", *caller);
  line_ = e.line;
  return call(fn, args);
}

Value Interpreter::get_attr(const Value& obj, const std::string& name) {
  if (obj.is_object()) {
    if (!obj.obj().is_namespace) {
      Value m = method_of(obj, name);
      if (!m.is_undefined()) return m;
    }
    if (const Value* v = obj.obj().find(name)) return *v;
    return Value::undefined(name);
  }
  if (obj.is_string() || obj.is_array()) return method_of(obj, name);
  return Value::undefined(name);
}

Value Interpreter::get_item(const Value& obj, const Value& key) {
  if (obj.is_object()) {
    if (key.is_string()) {
      if (const Value* v = obj.obj().find(key.str())) return *v;
      return method_of(obj, key.str());
    }
    return Value::undefined();
  }
  if ((obj.is_array() || obj.is_string()) && is_intlike(key)) {
    int64_t i = key.as_int();
    if (obj.is_array()) {
      int64_t n = static_cast<int64_t>(obj.arr().size());
      if (i < 0) i += n;
      if (i < 0 || i >= n) return Value::undefined();
      return obj.arr()[static_cast<size_t>(i)];
    }
    std::u32string s = utf8_to_u32(obj.str());
    int64_t n = static_cast<int64_t>(s.size());
    if (i < 0) i += n;
    if (i < 0 || i >= n) return Value::undefined();
    return Value(u32_to_utf8(std::u32string(1, s[static_cast<size_t>(i)])));
  }
  if ((obj.is_array() || obj.is_string()) && key.is_string()) return method_of(obj, key.str());
  return Value::undefined();
}

Value Interpreter::slice(const Value& obj, const Value& start, const Value& stop, const Value& step) {
  auto as_opt = [](const Value& v, const char* what) -> std::optional<int64_t> {
    if (v.is_undefined() || v.is_none()) return std::nullopt;
    if (!is_intlike(v)) eval_fail(std::string("slice ") + what + " must be an integer, got " + v.type_name());
    return v.as_int();
  };
  std::optional<int64_t> a = as_opt(start, "start"), b = as_opt(stop, "stop"), c = as_opt(step, "step");
  int64_t st = c.value_or(1);
  if (st == 0) eval_fail("slice step cannot be zero");
  auto pick = [&](int64_t n, std::vector<int64_t>& idx) {
    // Python's slice.indices(): clamp, with defaults depending on the sign of step.
    auto clamp = [&](std::optional<int64_t> v, int64_t dflt) {
      if (!v) return dflt;
      int64_t x = *v < 0 ? (*v < -n ? -1 : *v + n) : *v;
      if (st > 0) return std::min(std::max<int64_t>(x, 0), n);
      return std::min(std::max<int64_t>(x, -1), n - 1);
    };
    int64_t lo = clamp(a, st > 0 ? 0 : n - 1), hi = clamp(b, st > 0 ? n : -1);
    for (int64_t i = lo; st > 0 ? i < hi : i > hi; i += st) idx.push_back(i);
  };
  std::vector<int64_t> idx;
  if (obj.is_array()) {
    pick(static_cast<int64_t>(obj.arr().size()), idx);
    Array out;
    for (int64_t i : idx) out.push_back(obj.arr()[static_cast<size_t>(i)]);
    return Value::array(std::move(out));
  }
  if (obj.is_string()) {
    std::u32string s = utf8_to_u32(obj.str()), out;
    pick(static_cast<int64_t>(s.size()), idx);
    for (int64_t i : idx) out += s[static_cast<size_t>(i)];
    return Value(u32_to_utf8(out));
  }
  if (obj.is_undefined()) return Value::undefined();
  eval_fail("'" + obj.type_name() + "' object is not subscriptable");
}

Value Interpreter::eval_binary(const std::string& op, const Value& a, const Value& b) {
  if (op == "~") return Value(a.to_str() + b.to_str());
  bool num = (a.is_number() || a.is_bool()) && (b.is_number() || b.is_bool());
  bool ints = is_intlike(a) && is_intlike(b);
  if (op == "+") {
    if (ints) return Value(checked_add(a.as_int(), b.as_int()));
    if (num) return Value(a.as_double() + b.as_double());
    if (a.is_string() && b.is_string()) return Value(a.str() + b.str());
    if (a.is_array() && b.is_array()) {
      Array out = a.arr();
      out.insert(out.end(), b.arr().begin(), b.arr().end());
      return Value::array(std::move(out));
    }
    eval_fail(binop_error(op, a, b));
  }
  if (op == "-") {
    if (ints) return Value(checked_sub(a.as_int(), b.as_int()));
    if (num) return Value(a.as_double() - b.as_double());
    eval_fail(binop_error(op, a, b));
  }
  if (op == "*") {
    if (ints) return Value(checked_mul(a.as_int(), b.as_int()));
    if (num) return Value(a.as_double() * b.as_double());
    const Value* seq = a.is_string() || a.is_array() ? &a : (b.is_string() || b.is_array() ? &b : nullptr);
    const Value* cnt = seq == &a ? &b : &a;
    if (seq && is_intlike(*cnt)) {
      int64_t n = std::max<int64_t>(cnt->as_int(), 0);
      size_t unit = seq->is_string() ? seq->str().size() : seq->arr().size();
      if (unit && (static_cast<uint64_t>(n) > limits_.max_bytes / unit ||
                   (seq->is_array() && static_cast<uint64_t>(n) * unit > static_cast<uint64_t>(kMaxRange))))
        eval_fail("repetition too large");
      if (seq->is_string()) {
        std::string out;
        for (int64_t i = 0; i < n; ++i) out += seq->str();
        return Value(std::move(out));
      }
      Array out;
      for (int64_t i = 0; i < n; ++i) out.insert(out.end(), seq->arr().begin(), seq->arr().end());
      return Value::array(std::move(out));
    }
    eval_fail(binop_error(op, a, b));
  }
  if (op == "%" && a.is_string()) return Value(percent_format(a.str(), b));
  if (!num) eval_fail(binop_error(op, a, b));
  if (op == "/") {
    if (b.as_double() == 0.0) eval_fail("division by zero");
    return Value(a.as_double() / b.as_double());
  }
  if (op == "//") {
    if (b.as_double() == 0.0) eval_fail("integer division or modulo by zero");
    if (ints) {
      if (a.as_int() == INT64_MIN && b.as_int() == -1) eval_fail("integer overflow (beyond 64 bits)");
      return Value(floor_div(a.as_int(), b.as_int()));
    }
    return Value(std::floor(a.as_double() / b.as_double()));
  }
  if (op == "%") {
    if (b.as_double() == 0.0) eval_fail("integer division or modulo by zero");
    if (ints) return Value(b.as_int() == -1 ? int64_t{0} : a.as_int() - floor_div(a.as_int(), b.as_int()) * b.as_int());
    double r = std::fmod(a.as_double(), b.as_double());
    if (r != 0.0 && ((r < 0) != (b.as_double() < 0))) r += b.as_double();
    return Value(r);
  }
  if (op == "**") {
    if (ints && b.as_int() >= 0) {
      int64_t r = 1, base = a.as_int();
      for (int64_t e = b.as_int(); e > 0; e >>= 1) {
        if (e & 1) r = checked_mul(r, base);
        if (e > 1) base = checked_mul(base, base);
      }
      return Value(r);
    }
    return Value(std::pow(a.as_double(), b.as_double()));
  }
  eval_fail("unknown operator " + op);
}

Value Interpreter::eval_compare(const std::string& op, const Value& a, const Value& b) {
  if (op == "==") return Value(a.equals(b));
  if (op == "!=") return Value(!a.equals(b));
  if (op == "in" || op == "notin") {
    bool found = false;
    if (b.is_string()) {
      if (!a.is_string()) eval_fail("'in <string>' requires a string on the left, got " + a.type_name());
      found = b.str().find(a.str()) != std::string::npos;
    } else if (b.is_object()) {
      found = a.is_string() && b.obj().find(a.str()) != nullptr;
    } else if (b.is_array()) {
      for (auto& x : b.arr())
        if (x.equals(a)) found = true;
    } else if (!b.is_undefined()) {
      eval_fail("argument of type '" + b.type_name() + "' is not iterable");
    }
    return Value(op == "in" ? found : !found);
  }
  int c;
  try {
    c = compare_values(a, b);
  } catch (const std::runtime_error& e) {
    eval_fail(e.what());
  }
  if (op == "<") return Value(c < 0);
  if (op == "<=") return Value(c <= 0);
  if (op == ">") return Value(c > 0);
  return Value(c >= 0);
}

void Interpreter::charge(int64_t steps) {
  steps_ += steps;
  if (steps_ > limits_.max_steps)
    eval_fail("template took more than " + std::to_string(limits_.max_steps) + " steps (a loop that does not end?)");
}

Value Interpreter::eval(const Expr& e, Scope& scope) {
  Value v = eval_node(e, scope);
  // A large value costs steps in proportion to its size each time an
  // expression yields it: a filter or operator over it walks or copies it,
  // so a loop over a big list cannot hide its work in one step. Values of
  // real templates (messages, tools) stay under the thresholds and cost
  // nothing extra.
  if (v.is_array() && v.arr().size() >= 1024) charge(static_cast<int64_t>(v.arr().size()));
  if (v.is_string() && v.str().size() >= 65536) charge(static_cast<int64_t>(v.str().size() / 64));
  if (v.is_string() && v.str().size() > limits_.max_bytes) {
    line_ = e.line;
    eval_fail("a string of " + std::to_string(v.str().size()) + " bytes is larger than the limit of " +
              std::to_string(limits_.max_bytes));
  }
  if (v.is_array() && static_cast<int64_t>(v.arr().size()) > kMaxRange) {
    line_ = e.line;
    eval_fail("a list of " + std::to_string(v.arr().size()) + " items is longer than " + std::to_string(kMaxRange));
  }
  return v;
}

Value Interpreter::eval_node(const Expr& e, Scope& scope) {
  Deeper guard(*this);
  switch (e.kind) {
    case Expr::Kind::Literal: return e.value;
    case Expr::Kind::Name: {
      const Value* v = scope.lookup(e.name);
      return v ? *v : Value::undefined(e.name);
    }
    case Expr::Kind::List:
    case Expr::Kind::Tuple: {
      Array a;
      for (auto& x : e.args) a.push_back(eval(*x, scope));
      return Value::array(std::move(a), e.kind == Expr::Kind::Tuple);
    }
    case Expr::Kind::Dict: {
      Object o;
      for (size_t i = 0; i + 1 < e.args.size(); i += 2) {
        Value k = eval(*e.args[i], scope);
        if (!k.is_string()) {
          line_ = e.line;
          eval_fail("dict keys must be strings here, got " + k.type_name());
        }
        o.set(k.str(), eval(*e.args[i + 1], scope));
      }
      return Value::object(std::move(o));
    }
    case Expr::Kind::Attr: return get_attr(eval(*e.args[0], scope), e.name);
    case Expr::Kind::Item: {
      Value obj = eval(*e.args[0], scope);
      return get_item(obj, eval(*e.args[1], scope));
    }
    case Expr::Kind::Slice: {
      Value obj = eval(*e.args[0], scope);
      Value parts[3];
      for (int i = 0; i < 3; ++i)
        if (e.args[i + 1]) parts[i] = eval(*e.args[i + 1], scope);
      line_ = e.line;
      return slice(obj, parts[0], parts[1], parts[2]);
    }
    case Expr::Kind::Call: return eval_call(e, scope, nullptr);
    case Expr::Kind::Filter:
    case Expr::Kind::Test: {
      Value input = eval(*e.args[0], scope);
      CallArgs args = eval_args(e, scope);
      line_ = e.line;
      if (e.kind == Expr::Kind::Filter) return apply_filter(*this, e.name, input, args);
      return Value(apply_test(*this, e.name, input, args) != e.negated);
    }
    case Expr::Kind::Neg:
    case Expr::Kind::Pos: {
      Value v = eval(*e.args[0], scope);
      line_ = e.line;
      if (!v.is_number() && !v.is_bool()) eval_fail("bad operand type for unary " + std::string(e.kind == Expr::Kind::Neg ? "-" : "+") + ": '" + v.type_name() + "'");
      if (e.kind == Expr::Kind::Pos) return v.is_bool() ? Value(v.as_int()) : v;
      return v.is_float() ? Value(-v.as_double()) : Value(checked_sub(0, v.as_int()));
    }
    case Expr::Kind::Not: return Value(!eval(*e.args[0], scope).truthy());
    case Expr::Kind::And: {
      Value a = eval(*e.args[0], scope);
      return a.truthy() ? eval(*e.args[1], scope) : a;
    }
    case Expr::Kind::Or: {
      Value a = eval(*e.args[0], scope);
      return a.truthy() ? a : eval(*e.args[1], scope);
    }
    case Expr::Kind::Binary: {
      Value a = eval(*e.args[0], scope);
      Value b = eval(*e.args[1], scope);
      line_ = e.line;
      return eval_binary(e.name, a, b);
    }
    case Expr::Kind::Compare: {
      Value left = eval(*e.args[0], scope);
      for (size_t i = 0; i < e.ops.size(); ++i) {
        Value right = eval(*e.args[i + 1], scope);
        line_ = e.line;
        if (!eval_compare(e.ops[i], left, right).truthy()) return Value(false);
        left = std::move(right);
      }
      return Value(true);
    }
    case Expr::Kind::CondExpr:
      if (eval(*e.args[0], scope).truthy()) return eval(*e.args[1], scope);
      return e.args[2] ? eval(*e.args[2], scope) : Value::undefined();
  }
  return Value::undefined();
}

}  // namespace peft::jinja
