#include "model/config.h"

#include <sstream>

#include "core/error.h"
#include "io/gguf.h"

namespace peft {

ops::RopeSpec LlamaConfig::rope_spec() const {
  ops::RopeSpec s;
  s.head_dim = head_dim;
  s.rot_dim = head_dim;
  s.theta = rope_theta;
  s.style = rope_style;
  s.scaling = rope_scaling;
  return s;
}

void LlamaConfig::validate() const {
  auto need = [](bool ok, const std::string& what) {
    if (!ok) fail("model", what);
  };
  need(vocab_size > 0, "vocabulary size must be positive");
  need(dim > 0 && hidden_dim > 0 && n_layers > 0, "dimensions and layer count must be positive");
  need(n_heads > 0 && n_kv_heads > 0, "head counts must be positive");
  need(n_heads % n_kv_heads == 0, "head count " + std::to_string(n_heads) + " is not a multiple of the KV head count " +
                                      std::to_string(n_kv_heads));
  need(head_dim > 0 && head_dim % 2 == 0, "head dimension must be positive and even");
  need(norm_eps > 0, "norm epsilon must be positive");
  need(rope_theta > 0, "rope theta must be positive");
  need(context_length > 0, "context length must be positive");
}

std::string LlamaConfig::describe() const {
  std::ostringstream os;
  os << arch << ": dim " << dim << ", hidden " << hidden_dim << ", " << n_layers << " layers, " << n_heads
     << " heads (" << n_kv_heads << " KV, head dim " << head_dim << "), vocab " << vocab_size << ", context "
     << context_length << ", rope theta " << rope_theta << " ("
     << (rope_style == ops::RopeStyle::Interleaved ? "interleaved pairs" : "half split") << ")"
     << (tied_embeddings ? ", tied embeddings" : "");
  return os.str();
}

std::vector<float> rope_freq_factors(const LlamaConfig& c) {
  if (c.rope_scaling.type != "llama3" && c.rope_scaling.type != "factors") return {};
  ops::RopeSpec scaled = c.rope_spec();
  ops::RopeSpec plain = scaled;
  plain.scaling = ops::RopeScaling{};
  const std::vector<double> a = plain.inv_freq(), b = scaled.inv_freq();
  std::vector<float> out(a.size());
  for (size_t i = 0; i < a.size(); ++i) out[i] = static_cast<float>(a[i] / b[i]);
  return out;
}

LlamaConfig config_from_gguf(const GgufFile& f) {
  std::string arch = f.get_string("general.architecture");
  if (arch != "llama" && arch != "mistral" && arch != "qwen2" && arch != "qwen3") {
    fail("model", f.path() + ": unsupported architecture '" + arch + "' (supported: llama, mistral, qwen2, qwen3)");
  }
  LlamaConfig c;
  c.arch = arch;
  auto key = [&](const std::string& k) { return arch + "." + k; };
  c.dim = f.get_int(key("embedding_length"));
  c.hidden_dim = f.get_int(key("feed_forward_length"));
  c.n_layers = f.get_int(key("block_count"));
  c.n_heads = f.get_int(key("attention.head_count"));
  c.n_kv_heads = f.get_int(key("attention.head_count_kv"), c.n_heads);
  c.context_length = f.get_int(key("context_length"), 2048);
  c.norm_eps = f.get_float(key("attention.layer_norm_rms_epsilon"), 1e-5);
  c.rope_theta = f.get_float(key("rope.freq_base"), 10000.0);
  if (c.n_heads <= 0) fail("model", f.path() + ": head count must be positive");
  c.head_dim = f.get_int(key("attention.key_length"), c.dim / c.n_heads);
  // llama.cpp rotates Llama and Mistral q/k rows as adjacent pairs (its
  // converter permutes the rows) and Qwen's as halves (rows as in HF).
  const bool qwen = arch == "qwen2" || arch == "qwen3";
  c.rope_style = qwen ? ops::RopeStyle::Half : ops::RopeStyle::Interleaved;
  c.qkv_bias = arch == "qwen2";  // llama.cpp's Qwen2 always has q/k/v biases
  c.qk_norm = arch == "qwen3";
  if (f.has(key("rope.scaling.type"))) {
    std::string t = f.get_string(key("rope.scaling.type"));
    if (t == "linear") {
      c.rope_scaling.type = "linear";
      c.rope_scaling.factor = f.get_float(key("rope.scaling.factor"), 1.0);
    } else if (t != "none") {
      fail("model", f.path() + ": rope scaling '" + t + "' is not supported");
    }
  }
  // llama3 scaling, as llama.cpp's converter stores it: a per-pair factor
  // tensor instead of keys.
  if (const GgufTensorInfo* rf = f.find_tensor("rope_freqs.weight")) {
    const int64_t pairs = c.head_dim / 2;
    if (rf->shape != Shape{pairs})
      fail("model", f.path() + ": rope_freqs.weight has shape " + shape_str(rf->shape) + ", expected [" +
                        std::to_string(pairs) + "]");
    if (!c.rope_scaling.type.empty()) fail("model", f.path() + ": both rope.scaling keys and rope_freqs.weight");
    Tensor t = f.tensor("rope_freqs.weight").to_f32();
    c.rope_scaling.type = "factors";
    c.rope_scaling.freq_factors.assign(t.ptr<float>(), t.ptr<float>() + pairs);
  }
  // Vocabulary size: the embedding's rows (the tokenizer may list fewer).
  const GgufTensorInfo* emb = f.find_tensor("token_embd.weight");
  if (!emb) fail("model", f.path() + ": tensor 'token_embd.weight' is missing");
  if (emb->shape.size() != 2 || emb->shape[1] != c.dim)
    fail("model", f.path() + ": token_embd.weight has shape " + shape_str(emb->shape) + ", expected [vocab, " +
                      std::to_string(c.dim) + "]");
  c.vocab_size = emb->shape[0];
  c.tied_embeddings = f.find_tensor("output.weight") == nullptr;
  c.validate();
  return c;
}

}  // namespace peft
