// Jinja's built-in filters and tests, the Python methods templates call on
// strings, lists and dicts, and the globals Hugging Face provides.
#pragma once
#include <string>

#include "tokenizer/chat_template/value.h"

namespace peft::jinja {

bool is_known_filter(const std::string& name);
bool is_known_test(const std::string& name);

// `value | name(args)`.
Value apply_filter(Interpreter& in, const std::string& name, const Value& value, CallArgs& args);
// `value is name(args)`.
bool apply_test(Interpreter& in, const std::string& name, const Value& value, CallArgs& args);
// `value.name` when value is a string, list or dict and name is one of the
// Python methods we support: the bound method, else undefined.
Value method_of(const Value& value, const std::string& name);
// Python's `fmt % rhs` (rhs: a tuple of arguments, a dict for %(name)s, or
// one value).
std::string percent_format(const std::string& fmt, const Value& rhs);

}  // namespace peft::jinja
