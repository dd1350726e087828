// The configuration of a Llama-family model, read from GGUF metadata or a
// Hugging Face config.json.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "ops/rope.h"

namespace peft {

class GgufFile;

struct LlamaConfig {
  std::string arch = "llama";  // llama, mistral, qwen2, qwen3
  int64_t vocab_size = 0;
  int64_t dim = 0;             // hidden_size / embedding_length
  int64_t hidden_dim = 0;      // intermediate_size / feed_forward_length
  int64_t n_layers = 0;
  int64_t n_heads = 0;
  int64_t n_kv_heads = 0;
  int64_t head_dim = 0;        // usually dim / n_heads
  int64_t context_length = 2048;
  double norm_eps = 1e-5;
  double rope_theta = 10000.0;
  ops::RopeStyle rope_style = ops::RopeStyle::Interleaved;  // GGUF: interleaved; HF: half
  ops::RopeScaling rope_scaling;
  bool tied_embeddings = false;  // output head shares token_embd
  bool qkv_bias = false;         // Qwen2
  bool qk_norm = false;          // Qwen3: per-head RMSNorm on q and k

  int64_t q_dim() const { return n_heads * head_dim; }
  int64_t kv_dim() const { return n_kv_heads * head_dim; }
  ops::RopeSpec rope_spec() const;
  // Throws "[model] ..." for inconsistent values (zero sizes, heads not dividing).
  void validate() const;
  std::string describe() const;  // one line for logs
};

// llama.cpp's rope_freqs.weight for this configuration: per rotated pair,
// the unscaled frequency over the scaled one (llama3 and "factors" scaling);
// empty when the scaling is none or linear (GGUF has keys for linear).
std::vector<float> rope_freq_factors(const LlamaConfig& c);

// From a GGUF file's "<arch>.*" keys. Throws "[model] unsupported architecture 'x'".
LlamaConfig config_from_gguf(const GgufFile& f);

}  // namespace peft
