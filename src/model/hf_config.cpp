#include "model/hf_config.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"
#include "core/log.h"
#include "model/config_keys.h"

namespace peft {

namespace {

using Json = nlohmann::json;

// rope_scaling (transformers < 5) or rope_parameters (>= 5, which also
// carries rope_theta). "type" is the older spelling of "rope_type".
void read_rope(const Json& root, const KeyReader& top, LlamaConfig& c) {
  c.rope_theta = top.positive_number("rope_theta", 10000.0);
  const char* key = top.has("rope_parameters") ? "rope_parameters" : "rope_scaling";
  if (!top.has(key)) return;
  const Json& rs = root[key];
  if (!rs.is_object()) top.bad("key '" + std::string(key) + "' must be an object or null, got " + json_brief(rs));
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
  const Json root = parse_config_object(json_text, label);
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
