// Llama-family models as Hugging Face directories (REFERENCE.md §10):
// config.json plus model.safetensors (or shards named by
// model.safetensors.index.json), tensors under transformers' names.
//
// A model loaded here keeps HF's row order for q and k and rotates halves of
// each head (rope_style Half); a GGUF-loaded model keeps llama.cpp's order and
// rotates adjacent pairs. set_rope_layout() moves a model between the two
// without changing what it computes.
#pragma once
#include <memory>
#include <string>

#include "model/llama.h"

namespace peft {

// transformers' tensor name of one of our base parameters:
// "token_embd.weight" → "model.embed_tokens.weight", "blk.3.attn_q.bias" →
// "model.layers.3.self_attn.q_proj.bias", "output.weight" → "lm_head.weight".
// Throws InputError for a name outside the Llama family.
std::string hf_tensor_name(const std::string& param_name);

// Loads `dir` (config.json + safetensors). F32/F16/BF16/F64 tensors are
// converted to T. The output head is tied to the embedding when
// tie_word_embeddings is set or lm_head.weight is absent. Throws InputError
// "[config] ..." for config.json problems and "[model] <dir>: ..." for a
// missing or mis-shaped tensor; tensors the model has no use for are listed
// in one warning (rotary inv_freq buffers are skipped silently).
template <typename T>
std::unique_ptr<LlamaModel<T>> load_llama_hf(const std::string& dir);

struct HfSaveOptions {
  int32_t bos_token_id = -1;  // written to config.json when >= 0
  int32_t eos_token_id = -1;
};

// Writes config.json (every field load_llama_hf needs, so the directory
// reloads to the same configuration) and model.safetensors (F32). A model in
// GGUF row order is written in HF order. Each file is written to a temporary
// name and renamed into place, config.json last. Throws InputError "[model] ..."
// if the directory cannot be created.
template <typename T>
void save_llama_hf(LlamaModel<T>& m, const std::string& dir, const HfSaveOptions& opt = {});

// The config.json text save_llama_hf writes for `c` (pretty-printed).
std::string hf_config_json(const LlamaConfig& c, const HfSaveOptions& opt = {});

// Reorders the rows of every q and k projection (weights, biases, and the
// per-head q/k norm weights) so that the model under `style` computes what it
// computed before, and sets cfg.rope_style. Interleaved = GGUF order, Half =
// HF order (hf_names.h gives the permutation). Gradients move with their
// weights; adapters on q and k do not, so change the layout before attaching
// adapters (or only around a write, as the converter does).
template <typename T>
void set_rope_layout(LlamaModel<T>& m, ops::RopeStyle style);

}  // namespace peft
