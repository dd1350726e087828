// Reading tokenizer.json fields with FormatError (not nlohmann's own
// exceptions) for anything missing or of the wrong kind, so that every
// problem is reported as "[tokenizer] <path>: <what>".
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "tokenizer/hf/format_error.h"

namespace peft::hf {

using Json = nlohmann::json;

inline const Json& require(const Json& j, const char* key, const std::string& where) {
  if (!j.is_object() || !j.contains(key)) bad_format(where + ": missing \"" + key + "\"");
  return j.at(key);
}

inline std::string require_string(const Json& j, const char* key, const std::string& where) {
  const Json& v = require(j, key, where);
  if (!v.is_string()) bad_format(where + ": \"" + key + "\" is not a string");
  return v.get<std::string>();
}

// A missing key or null gives `def`.
inline bool opt_bool(const Json& j, const char* key, bool def, const std::string& where) {
  if (!j.is_object() || !j.contains(key) || j.at(key).is_null()) return def;
  if (!j.at(key).is_boolean()) bad_format(where + ": \"" + key + "\" is not a boolean");
  return j.at(key).get<bool>();
}

inline std::string opt_string(const Json& j, const char* key, const std::string& def,
                              const std::string& where) {
  if (!j.is_object() || !j.contains(key) || j.at(key).is_null()) return def;
  if (!j.at(key).is_string()) bad_format(where + ": \"" + key + "\" is not a string");
  return j.at(key).get<std::string>();
}

inline int64_t opt_int(const Json& j, const char* key, int64_t def, const std::string& where) {
  if (!j.is_object() || !j.contains(key) || j.at(key).is_null()) return def;
  if (!j.at(key).is_number_integer()) bad_format(where + ": \"" + key + "\" is not an integer");
  return j.at(key).get<int64_t>();
}

// Counts nesting of Sequence components while they are built, so that a
// hostile file cannot recurse the loader off the stack.
class NestingGuard {
 public:
  explicit NestingGuard(const std::string& where) {
    if (++depth() > kMaxDepth) {
      --depth();
      bad_format(where + ": Sequence nested more than " + std::to_string(kMaxDepth) + " deep");
    }
  }
  ~NestingGuard() { --depth(); }
  NestingGuard(const NestingGuard&) = delete;
  NestingGuard& operator=(const NestingGuard&) = delete;

 private:
  static constexpr int kMaxDepth = 64;
  static int& depth() {
    thread_local int d = 0;
    return d;
  }
};

// The "type" of a component object.
inline std::string type_of(const Json& j, const std::string& where) {
  if (!j.is_object()) bad_format(where + " is not an object");
  return require_string(j, "type", where);
}

}  // namespace peft::hf
