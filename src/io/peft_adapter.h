// Hugging Face PEFT adapter directories (REFERENCE.md §9):
//   adapter_config.json        sorted keys, indent 2, PEFT's full key set
//   adapter_model.safetensors  metadata {"format": "pt"}
// This file knows the format only (config fields, key names, shape checks);
// turning a model's adapters into tensors and back is the model's business.
//
// Key names for an HF Llama module path M (e.g. model.layers.0.self_attn.q_proj):
//   LoRA  base_model.model.M.lora_A.weight [r, in], ….lora_B.weight [out, r]
//   VeRA  base_model.model.M.vera_lambda_b [out], ….vera_lambda_d [r],
//         base_model.vera_A [r, max_in], base_model.vera_B [max_out, r]
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace peft {

class SafetensorsFile;

struct PeftAdapterConfig {
  std::string peft_type = "LORA";  // "LORA" or "VERA"
  int r = 8;
  double lora_alpha = 8;           // LORA only
  double dropout = 0;              // lora_dropout / vera_dropout
  bool use_rslora = false;         // LORA only
  // init_lora_weights as PEFT spells it: "true", "false", "gaussian", "pissa", …
  // (a PiSSA adapter keeps "pissa": PEFT then rebuilds the residual base).
  std::string init_lora_weights = "true";
  // HF module names (q_proj, …), written sorted; or, when `target_regex` is
  // set, that one string (PEFT's regex form of target_modules).
  std::vector<std::string> target_modules;
  std::string target_regex;
  std::map<std::string, int> rank_pattern;
  std::map<std::string, double> alpha_pattern;
  std::string task_type = "CAUSAL_LM";  // or FEATURE_EXTRACTION
  std::string base_model_name_or_path;
  std::string bias = "none";
  // VERA only.
  int64_t projection_prng_key = 0;
  bool save_projection = true;
  double d_initial = 0.1;
};

// The JSON text PEFT would write for this configuration (ends with no newline).
std::string peft_config_to_json(const PeftAdapterConfig& cfg);
// Parses adapter_config.json text; unknown keys are ignored, missing ones
// take PEFT's defaults, only peft_type is required. `label` names the source
// in errors ("[peft] <label>: …").
PeftAdapterConfig peft_config_from_json(const std::string& text, const std::string& label);

// Key names.
std::string peft_lora_key(const std::string& hf_module, char which);        // which: 'A' or 'B'
std::string peft_vera_lambda_key(const std::string& hf_module, char which);  // 'b' or 'd'
inline const char* peft_vera_shared_key(char which) { return which == 'A' ? "base_model.vera_A" : "base_model.vera_B"; }

// Writes `dir`/adapter_config.json and `dir`/adapter_model.safetensors (the
// directory is created if missing). Tensors keep their dtype (usually F32).
void write_peft_adapter(const std::string& dir, const PeftAdapterConfig& cfg,
                        const std::map<std::string, Tensor>& tensors);

class PeftAdapter {
 public:
  // Reads and checks a PEFT directory. Throws InputError "[peft] …".
  static PeftAdapter open(const std::string& dir);

  const PeftAdapterConfig& config() const { return config_; }
  const std::string& dir() const { return dir_; }
  std::vector<std::string> keys() const;
  bool has(const std::string& key) const;
  // The stored shape of `key`; "[peft] <dir>: missing tensor '<key>'" if absent.
  Shape shape(const std::string& key) const;
  // The tensor under `key` converted to f32, checked against `shape`:
  // "[peft] <dir>: missing tensor '<key>'" or "… has shape [a, b], expected [c, d]".
  Tensor tensor(const std::string& key, const Shape& shape) const;

 private:
  std::string dir_;
  PeftAdapterConfig config_;
  std::shared_ptr<SafetensorsFile> file_;
};

}  // namespace peft
