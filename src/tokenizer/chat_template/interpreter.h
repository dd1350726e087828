// Renders a parsed template. Scoping follows Jinja: the template's top
// level and each macro call have their own variables; a for loop's body gets
// a fresh scope per iteration (so `set` inside a loop does not leak out,
// which is why templates use namespace()); if blocks share their parent's.
#pragma once
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_map>

#include "tokenizer/chat_template/ast.h"
#include "tokenizer/chat_template/value.h"

namespace peft::jinja {

// A runtime error inside the template; the renderer adds name and line.
struct EvalError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// raise_exception("...") from the template itself.
struct RaisedError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Scope {
  std::unordered_map<std::string, Value> vars;
  Scope* parent = nullptr;
  const Value* lookup(const std::string& name) const {
    for (const Scope* s = this; s; s = s->parent) {
      auto it = s->vars.find(name);
      if (it != s->vars.end()) return &it->second;
    }
    return nullptr;
  }
};

// What one render may spend: evaluation steps (statements and expressions
// entered) and bytes of output or of any one string value.
struct Limits {
  int64_t max_steps = 5'000'000;
  size_t max_bytes = size_t{64} << 20;
};

class Interpreter {
 public:
  // now: what strftime_now() reports; the system clock when absent.
  explicit Interpreter(std::optional<std::chrono::system_clock::time_point> now, Limits limits = {})
      : now_(now), limits_(limits) {}

  // Renders `nodes` with `context`'s keys as the top-level variables.
  std::string render(const NodeList& nodes, const Object& context);

  // [begin, end) byte ranges of the last render's text written by
  // {% generation %} blocks at the top level (the assistant's turns).
  const std::vector<std::pair<size_t, size_t>>& generation_spans() const { return spans_; }

  // Line of the expression or statement being evaluated (for errors).
  int line() const { return line_; }

  // Evaluates e; a string longer than the byte limit or a list longer than
  // range()'s bound is an error here, so doubling a value in a loop stops
  // within one step of the limit.
  Value eval(const Expr& e, Scope& scope);
  size_t max_bytes() const { return limits_.max_bytes; }
  // Calls a function value (macro, builtin, method) with evaluated arguments.
  Value call(const Value& fn, CallArgs& args);

  // `obj.name` (dict methods win over keys, as getattr does in Python) and
  // `obj[key]` (keys win); both give undefined when nothing matches.
  Value get_attr(const Value& obj, const std::string& name);
  Value get_item(const Value& obj, const Value& key);

  std::chrono::system_clock::time_point now() const {
    return now_ ? *now_ : std::chrono::system_clock::now();
  }

 private:
  enum class Flow { Normal, Break, Continue };

  Flow exec_list(const NodeList& nodes, Scope& scope, std::string& out);
  Flow exec(const Node& n, Scope& scope, std::string& out);
  void exec_for(const Node& n, Scope& scope, std::string& out, Flow& flow);
  void assign(const Expr& target, Value v, Scope& scope);
  Value make_macro(const Node& n, Scope& defining_scope);
  Value eval_node(const Expr& e, Scope& scope);
  // Adds to the steps taken; past limits_.max_steps the render fails.
  void charge(int64_t steps);
  Value eval_call(const Expr& e, Scope& scope, const Value* caller);
  CallArgs eval_args(const Expr& e, Scope& scope);  // e.args[1..], *args, kwargs, **kwargs
  Value eval_binary(const std::string& op, const Value& a, const Value& b);
  Value eval_compare(const std::string& op, const Value& a, const Value& b);
  Value slice(const Value& obj, const Value& start, const Value& stop, const Value& step);

  std::optional<std::chrono::system_clock::time_point> now_;
  Limits limits_;
  int64_t steps_ = 0;  // exec/eval frames entered so far, bounded by limits_.max_steps
  Scope globals_;
  Scope* root_ = nullptr;
  std::string* root_out_ = nullptr;
  std::vector<std::pair<size_t, size_t>> spans_;
  int line_ = 0;
  int depth_ = 0;   // macro call depth, bounded so runaway recursion is an error, not a crash
  int rdepth_ = 0;  // nested exec/eval frames, bounded to keep the C++ stack small

  struct Deeper {
    explicit Deeper(Interpreter& in);
    ~Deeper() { --in_.rdepth_; }
    Interpreter& in_;
  };
};

// Code points of a UTF-8 string and back; strings index and slice by code
// point as in Python.
std::u32string utf8_to_u32(const std::string& s);
std::string u32_to_utf8(const std::u32string& s);

// Python's iteration over a value: list items, dict keys, string
// characters; undefined is empty. Throws EvalError for the rest.
Array iterate(const Value& v);

}  // namespace peft::jinja
