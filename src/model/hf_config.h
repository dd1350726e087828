// LlamaConfig from a Hugging Face config.json (REFERENCE.md §10).
//
// model_type llama, mistral, qwen2 (q/k/v projections carry biases) and qwen3
// (per-head RMSNorm on q and k, head_dim given explicitly). Hugging Face
// checkpoints rotate halves of each head, so rope_style is Half.
//
// Keys and their defaults when absent (those of transformers' config classes
// for these four families): hidden_size, intermediate_size,
// num_hidden_layers, num_attention_heads, vocab_size (required);
// num_key_value_heads (= num_attention_heads), head_dim (= hidden_size /
// num_attention_heads), rms_norm_eps (1e-6), rope_theta (10000),
// max_position_embeddings (llama 2048, mistral 131072, qwen2/qwen3 32768),
// tie_word_embeddings (false), rope_scaling (none; "llama3" and "linear"
// supported, "default" means none).
//
// Options the model cannot honour fail instead of being dropped silently:
// hidden_act other than silu, attention_bias or mlp_bias on llama/mistral/
// qwen3 (these add an o_proj or MLP bias the model does not have), other rope
// scaling types. A sliding attention window (mistral's sliding_window, or
// qwen2/qwen3 with use_sliding_window) is exact for sequences no longer than
// the window, so context_length is capped at the window instead.
#pragma once
#include <string>

#include "model/config.h"

namespace peft {

// Throws InputError "[config] <path>: ..." naming the key at fault.
LlamaConfig config_from_hf_json(const std::string& config_json_path);
// The same from JSON text; `label` names the source in errors.
LlamaConfig config_from_hf_json_text(const std::string& json_text, const std::string& label);

}  // namespace peft
