// The value type of the chat-template interpreter: what Jinja templates see
// when Hugging Face renders them in Python. Strings, numbers, lists and dicts
// behave like Python's (lists and dicts are shared by reference, so
// `ns.x = ...` and `list.append` mutate what every holder sees), and an
// Undefined kind stands for Jinja's default Undefined (prints as "", is
// falsy, iterates as empty).
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace peft::jinja {

class Value;
class Interpreter;

// Arguments of a call: positional then keyword, as written.
struct CallArgs {
  std::vector<Value> pos;
  std::vector<std::pair<std::string, Value>> kw;

  // Argument `index` (positional) or `name` (keyword); null when absent.
  const Value* find(size_t index, const char* name) const;
};

using Function = std::function<Value(Interpreter&, CallArgs&)>;

// A dict that keeps insertion order, as Python's does (tojson output and
// iteration order depend on it). Small in practice, so a linear scan.
struct Object {
  std::vector<std::pair<std::string, Value>> items;
  bool is_namespace = false;  // made by namespace(): attributes assignable
  const Value* find(const std::string& key) const;
  Value* find(const std::string& key);
  void set(const std::string& key, Value v);
  bool erase(const std::string& key);
};

using Array = std::vector<Value>;

class Value {
 public:
  enum class Kind { Undefined, None, Bool, Int, Float, String, Array, Object, Function };

  Value() = default;  // undefined
  static Value undefined(std::string name = "") {
    Value v;
    v.s_ = std::move(name);
    return v;
  }
  static Value none() { return Value(Kind::None); }
  Value(bool b) : kind_(Kind::Bool), i_(b) {}
  Value(int v) : kind_(Kind::Int), i_(v) {}
  Value(int64_t v) : kind_(Kind::Int), i_(v) {}
  Value(double v) : kind_(Kind::Float), f_(v) {}
  Value(std::string s) : kind_(Kind::String), s_(std::move(s)) {}
  Value(const char* s) : kind_(Kind::String), s_(s) {}
  static Value array(Array a = {}, bool tuple = false);
  static Value object(Object o = {});
  static Value function(std::string name, Function f);

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::Undefined; }
  bool is_none() const { return kind_ == Kind::None; }
  bool is_bool() const { return kind_ == Kind::Bool; }
  bool is_int() const { return kind_ == Kind::Int; }
  bool is_float() const { return kind_ == Kind::Float; }
  bool is_number() const { return kind_ == Kind::Int || kind_ == Kind::Float; }
  bool is_string() const { return kind_ == Kind::String; }
  bool is_array() const { return kind_ == Kind::Array; }
  bool is_tuple() const { return kind_ == Kind::Array && tuple_; }
  bool is_object() const { return kind_ == Kind::Object; }
  bool is_function() const { return kind_ == Kind::Function; }

  bool as_bool() const { return i_ != 0; }
  int64_t as_int() const { return i_; }
  // Numbers (bools count as 0/1, as in Python) as a double.
  double as_double() const { return kind_ == Kind::Float ? f_ : static_cast<double>(i_); }
  const std::string& str() const { return s_; }  // string value, or undefined's name
  Array& arr() const { return *a_; }
  Object& obj() const { return *o_; }
  const Function& fn() const { return *fn_; }
  const std::string& fn_name() const { return s_; }

  // Python truthiness: empty strings, lists and dicts, 0, None and
  // undefined are false.
  bool truthy() const;
  // Python str(): what `{{ v }}` prints ("" for undefined, "None", "True",
  // repr of the items inside lists and dicts).
  std::string to_str() const;
  // Python repr().
  std::string repr() const;
  // Python ==, with ints, floats and bools compared by value.
  bool equals(const Value& o) const;
  // A short Python-like type name for error messages.
  std::string type_name() const;

  static Value from_json(const nlohmann::ordered_json& j);

 private:
  explicit Value(Kind k) : kind_(k) {}
  Kind kind_ = Kind::Undefined;
  bool tuple_ = false;
  int64_t i_ = 0;
  double f_ = 0.0;
  std::string s_;
  std::shared_ptr<Array> a_;
  std::shared_ptr<Object> o_;
  std::shared_ptr<Function> fn_;
};

// Integer arithmetic that fails (EvalError-style std::runtime_error)
// instead of overflowing: Python's ints never wrap, so a wrapped result
// would be silently wrong.
int64_t checked_add(int64_t a, int64_t b);
int64_t checked_sub(int64_t a, int64_t b);
int64_t checked_mul(int64_t a, int64_t b);
// A float converted to int as Python's int() does (truncation); throws when
// it does not fit in 64 bits.
int64_t float_to_int(double d);

// Python's repr of a float: the shortest digits that round-trip, in fixed
// notation for exponents -4..15 (with ".0" when integral), else scientific
// with a two-digit exponent ("1e-05", "1.5e+16").
std::string python_float_repr(double v);

// Python json.dumps(v, ensure_ascii=False, indent=..., separators=...,
// sort_keys=...) as Hugging Face's tojson filter calls it. indent < 0: none.
// Throws (via the caller's error path) std::runtime_error for values JSON
// cannot hold (undefined, functions).
std::string to_json(const Value& v, int indent, const std::string& item_sep, const std::string& key_sep,
                    bool sort_keys);

// Compares for sorting: numbers by value, strings by code point, lists
// element-wise. Throws std::runtime_error for types Python cannot order.
int compare_values(const Value& a, const Value& b);

}  // namespace peft::jinja
