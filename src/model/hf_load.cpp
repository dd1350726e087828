// Loading and saving Llama-family models as Hugging Face directories.
#include "model/hf_load.h"

#include <cstring>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"
#include "core/log.h"
#include "io/atomic_file.h"
#include "io/hf_names.h"
#include "io/safetensors.h"
#include "io/safetensors_model.h"
#include "model/param_copy.h"
#include "model/hf_config.h"

namespace peft {

namespace {

namespace fs = std::filesystem;

bool starts_with(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }
bool ends_with(const std::string& s, const std::string& p) {
  return s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
}

// The per-layer part of a name: "attn_q" → "self_attn.q_proj".
const std::map<std::string, std::string>& layer_names() {
  static const std::map<std::string, std::string> m{
      {"attn_norm", "input_layernorm"},       {"ffn_norm", "post_attention_layernorm"},
      {"attn_q", "self_attn.q_proj"},          {"attn_k", "self_attn.k_proj"},
      {"attn_v", "self_attn.v_proj"},          {"attn_output", "self_attn.o_proj"},
      {"attn_q_norm", "self_attn.q_norm"},     {"attn_k_norm", "self_attn.k_norm"},
      {"ffn_gate", "mlp.gate_proj"},           {"ffn_up", "mlp.up_proj"},
      {"ffn_down", "mlp.down_proj"},
  };
  return m;
}

// The q/k row permutation (GGUF row g holds HF row perm[g]) that applies to a
// base parameter, or empty for tensors whose rows do not depend on the rope
// layout. q and k rows are [heads, head_dim]; the q/k norm weights are one
// head's worth.
std::vector<int32_t> qk_permutation(const LlamaConfig& c, const std::string& name) {
  if (!starts_with(name, "blk.")) return {};
  size_t dot = name.find('.', 4);
  if (dot == std::string::npos) return {};
  const std::string rest = name.substr(dot + 1);
  if (rest == "attn_q.weight" || rest == "attn_q.bias") return gguf_to_hf_rows(c.n_heads * c.head_dim, c.n_heads);
  if (rest == "attn_k.weight" || rest == "attn_k.bias")
    return gguf_to_hf_rows(c.n_kv_heads * c.head_dim, c.n_kv_heads);
  if (rest == "attn_q_norm.weight" || rest == "attn_k_norm.weight") return gguf_to_hf_rows(c.head_dim, 1);
  return {};
}

std::string architecture_class(const std::string& arch) {
  if (arch == "llama") return "LlamaForCausalLM";
  if (arch == "mistral") return "MistralForCausalLM";
  if (arch == "qwen2") return "Qwen2ForCausalLM";
  if (arch == "qwen3") return "Qwen3ForCausalLM";
  fail("model", "architecture '" + arch + "' cannot be written as a Hugging Face directory");
}

}  // namespace

std::string hf_tensor_name(const std::string& n) {
  if (n == "token_embd.weight") return "model.embed_tokens.weight";
  if (n == "output_norm.weight") return "model.norm.weight";
  if (n == "output.weight") return "lm_head.weight";
  if (starts_with(n, "blk.")) {
    size_t d1 = n.find('.', 4);
    size_t d2 = d1 == std::string::npos ? d1 : n.rfind('.');
    if (d1 != std::string::npos && d2 > d1) {
      const std::string layer = n.substr(4, d1 - 4);
      const std::string part = n.substr(d1 + 1, d2 - d1 - 1);
      const std::string kind = n.substr(d2 + 1);
      auto it = layer_names().find(part);
      bool digits = !layer.empty() && layer.find_first_not_of("0123456789") == std::string::npos;
      if (digits && it != layer_names().end() && (kind == "weight" || kind == "bias"))
        return "model.layers." + layer + "." + it->second + "." + kind;
    }
  }
  fail("model", "tensor '" + n + "' has no Hugging Face name");
}

template <typename T>
std::unique_ptr<LlamaModel<T>> load_llama_hf(const std::string& dir) {
  std::error_code ec;
  const std::string config_path = (fs::path(dir) / "config.json").string();
  if (!fs::is_directory(dir, ec)) fail("model", dir + ": not a directory");
  if (!fs::exists(config_path, ec)) fail("model", dir + ": no config.json in the directory");
  LlamaConfig cfg = config_from_hf_json(config_path);

  const bool has_single = fs::exists(fs::path(dir) / "model.safetensors", ec);
  const bool has_index = fs::exists(fs::path(dir) / "model.safetensors.index.json", ec);
  if (!has_single && !has_index)
    fail("model", dir + ": no model.safetensors or model.safetensors.index.json in the directory");
  auto st = SafetensorsModel::open(dir);

  // transformers ties the head when asked to, and checkpoints saved with a
  // tied head usually omit lm_head.weight altogether.
  if (!cfg.tied_embeddings && !st->has("lm_head.weight")) {
    log_debug(dir + ": no lm_head.weight; the output head is tied to the embedding");
    cfg.tied_embeddings = true;
  }
  auto m = std::make_unique<LlamaModel<T>>(cfg);

  std::set<std::string> used;
  for (Param<T>* p : m->base_params()) {
    const std::string hf = hf_tensor_name(p->name);
    if (!st->has(hf)) fail("model", dir + ": tensor '" + hf + "' is missing");
    const std::string file = st->file_of(hf).path();
    const Shape& shape = st->shape(hf);
    if (shape != p->shape)
      fail("model", file + ": tensor '" + hf + "' has shape " + shape_str(shape) + ", expected " +
                        shape_str(p->shape));
    DType dt = st->dtype(hf);  // throws for dtypes without a DType
    if (dt != DType::F32 && dt != DType::F16 && dt != DType::BF16 && dt != DType::F64)
      fail("model", file + ": tensor '" + hf + "' has dtype " + dtype_name(dt) + "; expected F32, F16, BF16 or F64");
    copy_into(st->tensor(hf), *p);
    used.insert(hf);
  }
  if (cfg.tied_embeddings) used.insert("lm_head.weight");  // transformers overwrites it with the embedding

  std::vector<std::string> extra;
  for (const std::string& n : st->names())
    if (!used.count(n) && !ends_with(n, "rotary_emb.inv_freq")) extra.push_back(n);
  if (!extra.empty()) {
    std::string list;
    for (size_t i = 0; i < extra.size() && i < 3; ++i) list += (i ? ", '" : "'") + extra[i] + "'";
    if (extra.size() > 3) list += ", ...";
    log_warn(dir + ": " + std::to_string(extra.size()) + " tensor(s) not used by the model: " + list);
  }
  return m;
}

std::string hf_config_json(const LlamaConfig& c, const HfSaveOptions& opt) {
  nlohmann::ordered_json j;
  j["architectures"] = {architecture_class(c.arch)};
  j["model_type"] = c.arch;
  j["hidden_size"] = c.dim;
  j["intermediate_size"] = c.hidden_dim;
  j["num_hidden_layers"] = c.n_layers;
  j["num_attention_heads"] = c.n_heads;
  j["num_key_value_heads"] = c.n_kv_heads;
  j["head_dim"] = c.head_dim;
  j["vocab_size"] = c.vocab_size;
  j["max_position_embeddings"] = c.context_length;
  j["rms_norm_eps"] = c.norm_eps;
  j["rope_theta"] = c.rope_theta;
  if (c.rope_scaling.type.empty()) {
    j["rope_scaling"] = nullptr;
  } else if (c.rope_scaling.type == "linear") {
    j["rope_scaling"] = {{"rope_type", "linear"}, {"factor", c.rope_scaling.factor}};
  } else if (c.rope_scaling.type == "llama3") {
    j["rope_scaling"] = {{"rope_type", "llama3"},
                         {"factor", c.rope_scaling.factor},
                         {"low_freq_factor", c.rope_scaling.low_freq_factor},
                         {"high_freq_factor", c.rope_scaling.high_freq_factor},
                         {"original_max_position_embeddings", c.rope_scaling.original_max_position}};
  } else {
    fail("model", "rope scaling '" + c.rope_scaling.type + "' cannot be written to config.json");
  }
  j["tie_word_embeddings"] = c.tied_embeddings;
  j["hidden_act"] = "silu";
  if (c.arch == "llama" || c.arch == "mistral" || c.arch == "qwen3") {
    if (c.qkv_bias) fail("model", c.arch + " with q/k/v biases cannot be written as a Hugging Face directory");
    j["attention_bias"] = false;
  }
  if (c.arch == "qwen2" && !c.qkv_bias) fail("model", "qwen2 without q/k/v biases cannot be written");
  if (c.qk_norm != (c.arch == "qwen3")) fail("model", c.arch + ": q/k norm does not match the architecture");
  if (c.arch == "llama") j["mlp_bias"] = false;
  // No sliding window: the model attends over the whole context.
  if (c.arch == "mistral") j["sliding_window"] = nullptr;
  if (c.arch == "qwen2" || c.arch == "qwen3") j["use_sliding_window"] = false;
  if (opt.bos_token_id >= 0) j["bos_token_id"] = opt.bos_token_id;
  if (opt.eos_token_id >= 0) j["eos_token_id"] = opt.eos_token_id;
  j["torch_dtype"] = "float32";
  return j.dump(2) + "\n";
}

template <typename T>
void save_llama_hf(LlamaModel<T>& m, const std::string& dir, const HfSaveOptions& opt) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (!fs::is_directory(dir, ec)) fail("model", "cannot create directory '" + dir + "'");
  const std::string config_text = hf_config_json(m.cfg, opt);  // fails before any file is written

  const bool gguf_order = m.cfg.rope_style == ops::RopeStyle::Interleaved;
  SafetensorsWriter w;
  w.set_metadata("format", "pt");
  for (Param<T>* p : m.base_params()) {
    Tensor t = Tensor::zeros(DType::F32, p->shape);
    float* d = t.mutable_ptr<float>();
    for (int64_t i = 0; i < p->numel(); ++i) d[i] = static_cast<float>(p->data[i]);
    std::vector<int32_t> perm = gguf_order ? qk_permutation(m.cfg, p->name) : std::vector<int32_t>{};
    if (!perm.empty()) {
      Tensor hf = Tensor::zeros(DType::F32, p->shape);
      const int64_t rows = static_cast<int64_t>(perm.size());
      scatter_rows(t.ptr<float>(), hf.mutable_ptr<float>(), rows, p->numel() / rows, perm);
      t = hf;
    }
    w.add(hf_tensor_name(p->name), t);
  }
  w.write((fs::path(dir) / "model.safetensors").string());
  // A stale index from an earlier sharded model would not be read (the single
  // file wins) but would mislead other tools.
  fs::remove(fs::path(dir) / "model.safetensors.index.json", ec);
  write_file_atomic((fs::path(dir) / "config.json").string(), config_text);
}

template <typename T>
void set_rope_layout(LlamaModel<T>& m, ops::RopeStyle style) {
  if (m.cfg.rope_style == style) return;
  const bool to_hf = style == ops::RopeStyle::Half;
  for (Param<T>* p : m.base_params()) {
    std::vector<int32_t> perm = qk_permutation(m.cfg, p->name);
    if (perm.empty()) continue;
    if (!to_hf) perm = invert_permutation(perm);
    const int64_t rows = static_cast<int64_t>(perm.size());
    p->materialize();  // a stored q/k (GGUF base) is widened to move its rows
    AlignedPtr<T> moved = aligned_alloc_zeroed<T>(p->numel());
    scatter_rows(p->data.get(), moved.get(), rows, p->numel() / rows, perm);
    p->data = std::move(moved);
    if (p->grad) {
      AlignedPtr<T> g = aligned_alloc_zeroed<T>(p->numel());
      scatter_rows(p->grad.get(), g.get(), rows, p->numel() / rows, perm);
      p->grad = std::move(g);
    }
  }
  m.cfg.rope_style = style;
}

template std::unique_ptr<LlamaModel<float>> load_llama_hf<float>(const std::string&);
template std::unique_ptr<LlamaModel<double>> load_llama_hf<double>(const std::string&);
template void save_llama_hf<float>(LlamaModel<float>&, const std::string&, const HfSaveOptions&);
template void save_llama_hf<double>(LlamaModel<double>&, const std::string&, const HfSaveOptions&);
template void set_rope_layout<float>(LlamaModel<float>&, ops::RopeStyle);
template void set_rope_layout<double>(LlamaModel<double>&, ops::RopeStyle);

}  // namespace peft
