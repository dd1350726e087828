#include "io/peft_adapter.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/safetensors.h"

namespace peft {

namespace {

using nlohmann::json;

// PEFT writes an alpha given as an int as an int; keep integral values integral.
json number(double v) {
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 9e15) return json(static_cast<int64_t>(v));
  return json(v);
}

json init_value(const std::string& s) {
  if (s == "true") return json(true);
  if (s == "false") return json(false);
  return json(s);
}

json targets_value(const PeftAdapterConfig& c) {
  if (!c.target_regex.empty()) return json(c.target_regex);
  if (c.target_modules.empty()) return json(nullptr);
  std::vector<std::string> t = c.target_modules;
  std::sort(t.begin(), t.end());
  t.erase(std::unique(t.begin(), t.end()), t.end());
  return json(t);
}

[[noreturn]] void bad(const std::string& label, const std::string& msg) { fail("peft", label + ": " + msg); }

double get_number(const json& j, const char* key, double def, const std::string& label) {
  if (!j.contains(key) || j[key].is_null()) return def;
  if (!j[key].is_number()) bad(label, std::string("'") + key + "' must be a number");
  return j[key].get<double>();
}
bool get_bool(const json& j, const char* key, bool def, const std::string& label) {
  if (!j.contains(key) || j[key].is_null()) return def;
  if (!j[key].is_boolean()) bad(label, std::string("'") + key + "' must be true or false");
  return j[key].get<bool>();
}
std::string get_string(const json& j, const char* key, const std::string& def, const std::string& label) {
  if (!j.contains(key) || j[key].is_null()) return def;
  if (!j[key].is_string()) bad(label, std::string("'") + key + "' must be a string");
  return j[key].get<std::string>();
}

}  // namespace

std::string peft_config_to_json(const PeftAdapterConfig& c) {
  json j;  // std::map underneath: keys come out sorted, as PEFT's sort_keys=True
  j["auto_mapping"] = nullptr;
  j["base_model_name_or_path"] = c.base_model_name_or_path.empty() ? json(nullptr) : json(c.base_model_name_or_path);
  j["bias"] = c.bias;
  j["fan_in_fan_out"] = false;
  j["inference_mode"] = true;
  j["layers_pattern"] = nullptr;
  j["layers_to_transform"] = nullptr;
  j["modules_to_save"] = nullptr;
  j["peft_type"] = c.peft_type;
  j["r"] = c.r;
  j["revision"] = nullptr;
  j["target_modules"] = targets_value(c);
  j["task_type"] = c.task_type;
  if (c.peft_type == "VERA") {
    j["d_initial"] = c.d_initial;
    j["init_weights"] = true;
    j["projection_prng_key"] = c.projection_prng_key;
    j["save_projection"] = c.save_projection;
    j["vera_dropout"] = c.dropout;
  } else {
    json ap = json::object(), rp = json::object();
    for (const auto& [k, v] : c.alpha_pattern) ap[k] = number(v);
    for (const auto& [k, v] : c.rank_pattern) rp[k] = v;
    j["alpha_pattern"] = ap;
    j["corda_config"] = nullptr;
    j["eva_config"] = nullptr;
    j["exclude_modules"] = nullptr;
    j["init_lora_weights"] = init_value(c.init_lora_weights);
    j["layer_replication"] = nullptr;
    j["loftq_config"] = json::object();
    j["lora_alpha"] = number(c.lora_alpha);
    j["lora_bias"] = false;
    j["lora_dropout"] = c.dropout;
    j["megatron_config"] = nullptr;
    j["megatron_core"] = "megatron.core";
    j["rank_pattern"] = rp;
    j["trainable_token_indices"] = nullptr;
    j["use_dora"] = false;
    j["use_rslora"] = c.use_rslora;
  }
  return j.dump(2);
}

PeftAdapterConfig peft_config_from_json(const std::string& text, const std::string& label) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    bad(label, std::string("not valid JSON (") + e.what() + ")");
  }
  if (!j.is_object()) bad(label, "the config is not a JSON object");
  PeftAdapterConfig c;
  if (!j.contains("peft_type")) bad(label, "no 'peft_type'");
  c.peft_type = get_string(j, "peft_type", "", label);
  if (c.peft_type != "LORA" && c.peft_type != "VERA")
    bad(label, "peft_type '" + c.peft_type + "' is not supported (LORA, VERA)");
  const double r = get_number(j, "r", 8, label);
  if (r != std::floor(r) || r <= 0 || r > 1e6) bad(label, "'r' must be a positive integer");
  c.r = static_cast<int>(r);
  c.task_type = get_string(j, "task_type", "", label);
  c.base_model_name_or_path = get_string(j, "base_model_name_or_path", "", label);
  c.bias = get_string(j, "bias", "none", label);
  if (c.bias != "none") bad(label, "bias '" + c.bias + "' is not supported (only \"none\")");
  if (get_bool(j, "use_dora", false, label)) bad(label, "DoRA adapters are not supported");
  if (get_bool(j, "fan_in_fan_out", false, label)) bad(label, "fan_in_fan_out adapters are not supported");
  if (j.contains("target_modules")) {
    const json& t = j["target_modules"];
    if (t.is_string()) {
      c.target_regex = t.get<std::string>();
    } else if (t.is_array()) {
      for (const auto& e : t) {
        if (!e.is_string()) bad(label, "'target_modules' must hold strings");
        c.target_modules.push_back(e.get<std::string>());
      }
      std::sort(c.target_modules.begin(), c.target_modules.end());
    } else if (!t.is_null()) {
      bad(label, "'target_modules' must be a list or a string");
    }
  }
  if (c.peft_type == "VERA") {
    c.dropout = get_number(j, "vera_dropout", 0, label);
    c.d_initial = get_number(j, "d_initial", 0.1, label);
    const double key = get_number(j, "projection_prng_key", 0, label);
    if (key != std::floor(key) || std::fabs(key) > 9e15) bad(label, "'projection_prng_key' must be an integer");
    c.projection_prng_key = static_cast<int64_t>(key);
    if (!(c.d_initial == c.d_initial) || !std::isfinite(c.d_initial)) bad(label, "'d_initial' must be finite");
    c.save_projection = get_bool(j, "save_projection", true, label);
  } else {
    c.lora_alpha = get_number(j, "lora_alpha", 8, label);
    if (!std::isfinite(c.lora_alpha)) bad(label, "'lora_alpha' must be finite");
    c.dropout = get_number(j, "lora_dropout", 0, label);
    c.use_rslora = get_bool(j, "use_rslora", false, label);
    if (j.contains("init_lora_weights")) {
      const json& v = j["init_lora_weights"];
      if (v.is_boolean()) c.init_lora_weights = v.get<bool>() ? "true" : "false";
      else if (v.is_string()) c.init_lora_weights = v.get<std::string>();
      else if (!v.is_null()) bad(label, "'init_lora_weights' must be a bool or a string");
    }
    for (const char* key : {"rank_pattern", "alpha_pattern"}) {
      if (!j.contains(key) || j[key].is_null()) continue;
      if (!j[key].is_object()) bad(label, std::string("'") + key + "' must be an object");
      for (const auto& [k, v] : j[key].items()) {
        if (!v.is_number()) bad(label, std::string("'") + key + "' values must be numbers");
        if (std::string(key) == "rank_pattern") {
          const double rv = v.get<double>();
          if (rv != std::floor(rv) || rv <= 0 || rv > 1e6) bad(label, "rank_pattern '" + k + "' must be a positive integer");
          c.rank_pattern[k] = static_cast<int>(rv);
        } else {
          c.alpha_pattern[k] = v.get<double>();
        }
      }
    }
  }
  if (!(c.dropout >= 0 && c.dropout < 1)) bad(label, "dropout must be in [0, 1)");
  return c;
}

std::string peft_lora_key(const std::string& hf_module, char which) {
  return "base_model.model." + hf_module + (which == 'A' ? ".lora_A.weight" : ".lora_B.weight");
}
std::string peft_vera_lambda_key(const std::string& hf_module, char which) {
  return "base_model.model." + hf_module + (which == 'b' ? ".vera_lambda_b" : ".vera_lambda_d");
}

void write_peft_adapter(const std::string& dir, const PeftAdapterConfig& cfg,
                        const std::map<std::string, Tensor>& tensors) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) fail("peft", dir + ": cannot create the directory (" + ec.message() + ")");
  SafetensorsWriter w;
  w.set_metadata("format", "pt");
  for (const auto& [k, t] : tensors) w.add(k, t);
  w.write(dir + "/adapter_model.safetensors");
  // Through a temporary name (a reader never sees half a file), checking
  // the close too: a full disk often shows only there.
  write_file_atomic(dir + "/adapter_config.json", peft_config_to_json(cfg));
}

PeftAdapter PeftAdapter::open(const std::string& dir) {
  PeftAdapter a;
  a.dir_ = dir;
  const std::string cfg_path = dir + "/adapter_config.json";
  std::ifstream f(cfg_path, std::ios::binary);
  if (!f) fail("peft", dir + ": no adapter_config.json");
  std::stringstream ss;
  ss << f.rdbuf();
  a.config_ = peft_config_from_json(ss.str(), cfg_path);
  const std::string st = dir + "/adapter_model.safetensors";
  if (!std::filesystem::exists(st)) {
    if (std::filesystem::exists(dir + "/adapter_model.bin"))
      fail("peft", dir + ": only adapter_model.bin (a pickle) is present; convert it to safetensors");
    fail("peft", dir + ": no adapter_model.safetensors");
  }
  a.file_ = SafetensorsFile::open(st);
  return a;
}

std::vector<std::string> PeftAdapter::keys() const { return file_->names(); }
bool PeftAdapter::has(const std::string& key) const { return file_->has(key); }

Shape PeftAdapter::shape(const std::string& key) const {
  if (!file_->has(key)) fail("peft", dir_ + ": missing tensor '" + key + "'");
  return file_->shape(key);
}

Tensor PeftAdapter::tensor(const std::string& key, const Shape& shape) const {
  if (!file_->has(key)) fail("peft", dir_ + ": missing tensor '" + key + "'");
  if (file_->shape(key) != shape)
    fail("peft", dir_ + ": tensor '" + key + "' has shape " + shape_str(file_->shape(key)) + ", expected " +
                     shape_str(shape));
  return file_->tensor(key).to_f32();
}

}  // namespace peft
