// Typed, checked access to the keys of a JSON configuration file
// (config.json and sentence-transformers' module files): every problem is an
// InputError "[config] <label>: ..." that names the key at fault.
#pragma once
#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "core/error.h"

namespace peft {

// Parses `text` and requires a JSON object.
inline nlohmann::json parse_config_object(const std::string& text, const std::string& label) {
  using Json = nlohmann::json;
  Json root;
  try {
    root = Json::parse(text);
  } catch (const Json::exception& e) {
    std::string msg = e.what();
    size_t close = msg.find("] ");
    if (msg.rfind("[json.exception.", 0) == 0 && close != std::string::npos) msg = msg.substr(close + 2);
    fail("config", label + ": not valid JSON: " + msg);
  }
  if (!root.is_object()) fail("config", label + ": not a JSON object");
  return root;
}

inline std::string json_brief(const nlohmann::json& j) {
  std::string s = j.dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

// Typed access to one JSON object of config.json; `prefix` ("rope_scaling.")
// makes error messages name nested keys in full.
struct KeyReader {
  using Json = nlohmann::json;
  const Json& obj;
  const std::string& label;
  std::string prefix;

  [[noreturn]] void bad(const std::string& problem) const { fail("config", label + ": " + problem); }
  std::string name(const std::string& key) const { return "'" + prefix + key + "'"; }

  // Present and not null: transformers treats an explicit null like an
  // absent key for the options read here.
  bool has(const std::string& key) const { return obj.contains(key) && !obj[key].is_null(); }
  const Json& need(const std::string& key) const {
    if (!has(key)) bad("key " + name(key) + " is missing");
    return obj[key];
  }

  int64_t to_positive_int(const std::string& key, const Json& v) const {
    if (v.is_number_unsigned() || v.is_number_integer()) {
      if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
        bad("key " + name(key) + " is too large: " + json_brief(v));
      int64_t x = v.get<int64_t>();
      if (x <= 0) bad("key " + name(key) + " must be a positive integer, got " + json_brief(v));
      return x;
    }
    // Some exporters write integers as 8192.0; accept them when exact.
    if (v.is_number_float()) {
      double d = v.get<double>();
      if (d >= 1 && d < 9.0e18 && std::floor(d) == d) return static_cast<int64_t>(d);
    }
    bad("key " + name(key) + " must be a positive integer, got " + json_brief(v));
  }
  int64_t positive_int(const std::string& key) const { return to_positive_int(key, need(key)); }
  int64_t positive_int(const std::string& key, int64_t def) const {
    return has(key) ? to_positive_int(key, obj[key]) : def;
  }

  double positive_number(const std::string& key) const {
    const Json& v = need(key);
    if (!v.is_number() || !(v.get<double>() > 0) || !std::isfinite(v.get<double>()))
      bad("key " + name(key) + " must be a positive number, got " + json_brief(v));
    return v.get<double>();
  }
  double positive_number(const std::string& key, double def) const { return has(key) ? positive_number(key) : def; }

  bool boolean(const std::string& key, bool def) const {
    if (!has(key)) return def;
    const Json& v = obj[key];
    if (!v.is_boolean()) bad("key " + name(key) + " must be true or false, got " + json_brief(v));
    return v.get<bool>();
  }

  std::string string(const std::string& key, const std::string& def) const {
    if (!has(key)) return def;
    const Json& v = obj[key];
    if (!v.is_string()) bad("key " + name(key) + " must be a string, got " + json_brief(v));
    return v.get<std::string>();
  }
};

}  // namespace peft
