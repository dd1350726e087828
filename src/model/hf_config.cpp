#include "model/hf_config.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"
#include "core/log.h"

namespace peft {

namespace {

using Json = nlohmann::json;

std::string brief(const Json& j) {
  std::string s = j.dump(-1, ' ', true, Json::error_handler_t::replace);
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

// Typed access to one JSON object of config.json; `prefix` ("rope_scaling.")
// makes error messages name nested keys in full.
struct KeyReader {
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
        bad("key " + name(key) + " is too large: " + brief(v));
      int64_t x = v.get<int64_t>();
      if (x <= 0) bad("key " + name(key) + " must be a positive integer, got " + brief(v));
      return x;
    }
    // Some exporters write integers as 8192.0; accept them when exact.
    if (v.is_number_float()) {
      double d = v.get<double>();
      if (d >= 1 && d < 9.0e18 && std::floor(d) == d) return static_cast<int64_t>(d);
    }
    bad("key " + name(key) + " must be a positive integer, got " + brief(v));
  }
  int64_t positive_int(const std::string& key) const { return to_positive_int(key, need(key)); }
  int64_t positive_int(const std::string& key, int64_t def) const {
    return has(key) ? to_positive_int(key, obj[key]) : def;
  }

  double positive_number(const std::string& key) const {
    const Json& v = need(key);
    if (!v.is_number() || !(v.get<double>() > 0) || !std::isfinite(v.get<double>()))
      bad("key " + name(key) + " must be a positive number, got " + brief(v));
    return v.get<double>();
  }
  double positive_number(const std::string& key, double def) const { return has(key) ? positive_number(key) : def; }

  bool boolean(const std::string& key, bool def) const {
    if (!has(key)) return def;
    const Json& v = obj[key];
    if (!v.is_boolean()) bad("key " + name(key) + " must be true or false, got " + brief(v));
    return v.get<bool>();
  }

  std::string string(const std::string& key, const std::string& def) const {
    if (!has(key)) return def;
    const Json& v = obj[key];
    if (!v.is_string()) bad("key " + name(key) + " must be a string, got " + brief(v));
    return v.get<std::string>();
  }
};

// rope_scaling (transformers < 5) or rope_parameters (>= 5, which also
// carries rope_theta). "type" is the older spelling of "rope_type".
void read_rope(const Json& root, const KeyReader& top, LlamaConfig& c) {
  c.rope_theta = top.positive_number("rope_theta", 10000.0);
  const char* key = top.has("rope_parameters") ? "rope_parameters" : "rope_scaling";
  if (!top.has(key)) return;
  const Json& rs = root[key];
  if (!rs.is_object()) top.bad("key '" + std::string(key) + "' must be an object or null, got " + brief(rs));
  KeyReader r{rs, top.label, std::string(key) + "."};
  if (r.has("rope_theta")) c.rope_theta = r.positive_number("rope_theta");
  std::string type = r.has("rope_type") ? r.string("rope_type", "") : r.string("type", "default");
  if (type == "default") return;
  if (type == "linear") {
    c.rope_scaling.type = "linear";
    c.rope_scaling.factor = r.positive_number("factor");
  } else if (type == "llama3") {
    c.rope_scaling.type = "llama3";
    c.rope_scaling.factor = r.positive_number("factor");
    c.rope_scaling.low_freq_factor = r.positive_number("low_freq_factor");
    c.rope_scaling.high_freq_factor = r.positive_number("high_freq_factor");
    c.rope_scaling.original_max_position = r.positive_int("original_max_position_embeddings");
    if (!(c.rope_scaling.high_freq_factor > c.rope_scaling.low_freq_factor))
      top.bad("key '" + std::string(key) + "': high_freq_factor must exceed low_freq_factor");
  } else {
    top.bad("rope scaling type '" + type + "' is not supported (supported: default, linear, llama3)");
  }
}

}  // namespace

LlamaConfig config_from_hf_json_text(const std::string& json_text, const std::string& label) {
  Json root;
  try {
    root = Json::parse(json_text);
  } catch (const Json::exception& e) {
    std::string msg = e.what();
    size_t close = msg.find("] ");
    if (msg.rfind("[json.exception.", 0) == 0 && close != std::string::npos) msg = msg.substr(close + 2);
    fail("config", label + ": not valid JSON: " + msg);
  }
  if (!root.is_object()) fail("config", label + ": not a JSON object");
  KeyReader r{root, label, ""};

  const std::string type = r.string("model_type", "");
  if (!r.has("model_type")) r.bad("key 'model_type' is missing");
  if (type != "llama" && type != "mistral" && type != "qwen2" && type != "qwen3")
    r.bad("unsupported model_type '" + type + "' (supported: llama, mistral, qwen2, qwen3)");

  LlamaConfig c;
  c.arch = type;
  c.rope_style = ops::RopeStyle::Half;
  c.dim = r.positive_int("hidden_size");
  c.hidden_dim = r.positive_int("intermediate_size");
  c.n_layers = r.positive_int("num_hidden_layers");
  c.n_heads = r.positive_int("num_attention_heads");
  c.vocab_size = r.positive_int("vocab_size");

  // Defaults below are those of transformers' config class for each family
  // when the key is absent (an explicit null means "derive it").
  int64_t kv_default = c.n_heads;
  if (type == "mistral" && !root.contains("num_key_value_heads")) kv_default = 8;
  if ((type == "qwen2" || type == "qwen3") && !root.contains("num_key_value_heads")) kv_default = 32;
  c.n_kv_heads = r.positive_int("num_key_value_heads", kv_default);
  int64_t head_dim_default = c.dim / c.n_heads;
  if (type == "qwen3" && !root.contains("head_dim")) head_dim_default = 128;
  c.head_dim = r.positive_int("head_dim", head_dim_default);
  c.norm_eps = r.positive_number("rms_norm_eps", 1e-6);
  int64_t ctx_default = type == "llama" ? 2048 : type == "mistral" ? 131072 : 32768;
  c.context_length = r.positive_int("max_position_embeddings", ctx_default);
  c.tied_embeddings = r.boolean("tie_word_embeddings", false);
  read_rope(root, r, c);

  std::string act = r.string("hidden_act", "silu");
  if (act != "silu") r.bad("hidden_act '" + act + "' is not supported (only silu, as in SwiGLU)");
  // Qwen2 always has q/k/v biases and no o_proj bias; its config has no
  // switch for them. attention_bias elsewhere adds an o_proj bias as well,
  // which the model has no slot for.
  if (type == "qwen2") {
    c.qkv_bias = true;
  } else if (r.boolean("attention_bias", false)) {
    r.bad("attention_bias=true (biases on q, k, v and o projections) is not supported for " + type);
  }
  if (type == "llama" && r.boolean("mlp_bias", false)) r.bad("mlp_bias=true is not supported");
  c.qk_norm = type == "qwen3";

  // Sliding-window attention equals full attention for sequences no longer
  // than the window, so the usable context is capped at the window.
  int64_t window = 0;
  if (type == "mistral") {
    window = root.contains("sliding_window") ? r.positive_int("sliding_window", 0) : 4096;
  } else if (type == "qwen2" || type == "qwen3") {
    if (r.boolean("use_sliding_window", false)) {
      window = root.contains("sliding_window") ? r.positive_int("sliding_window", 0) : 4096;
      // Layers below max_window_layers use full attention; the window only
      // matters when some layer is at or above it.
      if (r.positive_int("max_window_layers", 28) >= c.n_layers) window = 0;
    }
  }
  if (window > 0 && window < c.context_length) {
    log_warn(label + ": sliding attention window " + std::to_string(window) + " < max_position_embeddings " +
             std::to_string(c.context_length) + "; context length capped at the window");
    c.context_length = window;
  }

  try {
    c.validate();
  } catch (const InputError& e) {
    std::string msg = e.what();
    if (msg.rfind("[model] ", 0) == 0) msg = msg.substr(8);
    fail("config", label + ": " + msg);
  }
  return c;
}

LlamaConfig config_from_hf_json(const std::string& config_json_path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(config_json_path, ec))
    fail("config", config_json_path + ": cannot open (not a file)");
  std::ifstream in(config_json_path, std::ios::binary);
  if (!in) fail("config", config_json_path + ": cannot open");
  std::stringstream ss;
  ss << in.rdbuf();
  return config_from_hf_json_text(ss.str(), config_json_path);
}

}  // namespace peft
