// The Llama family (llama, mistral, qwen2, qwen3): forward and hand-written
// backward, and a KV cache for generation.
//
// Activations are token-major [N, C] with N = B·T rows. One layer:
//   xn  = rmsnorm(x) · w_attn                       [N, dim]
//   q   = rope(xn Wqᵀ), k = rope(xn Wkᵀ), v = xn Wvᵀ  [N, Hq·D], [N, Hkv·D]
//   a   = attention(q, k, v)                         [N, Hq·D]
//   x  += a Woᵀ
//   xn2 = rmsnorm(x) · w_ffn
//   x  += (silu(xn2 Wgᵀ) ⊙ xn2 Wuᵀ) Wdᵀ                [N, hidden] inside
// and at the end logits = rmsnorm(x) · w_out · Woutᵀ, trained with the fused
// chunked cross-entropy so [N, vocab] never exists at once.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/batch.h"
#include "model/base_dtype.h"
#include "model/config.h"
#include "model/kv_cache.h"
#include "model/linear.h"
#include "model/param.h"

namespace peft {

class GgufFile;

template <typename T>
struct LlamaLayer {
  Param<T> attn_norm, ffn_norm;  // [dim]
  Param<T> q_norm, k_norm;       // [head_dim], Qwen3 only
  Linear<T> wq, wk, wv, wo, w_gate, w_up, w_down;
  std::vector<Linear<T>*> linears() { return {&wq, &wk, &wv, &wo, &w_gate, &w_up, &w_down}; }
};

template <typename T>
class LlamaModel {
 public:
  LlamaConfig cfg;
  Param<T> tok_embd;  // [vocab, dim]
  std::vector<LlamaLayer<T>> layers;
  Param<T> out_norm;  // [dim]
  Param<T> output;    // [vocab, dim]; empty when tied to tok_embd
  bool grad_checkpoint = false;

  // Every tensor zeroed; `zeroed` false leaves them uninitialised for a
  // loader that writes or replaces each one (load_llama_gguf), so a 7B model
  // held as Q4_K never touches its 27 GB of f32 buffers.
  explicit LlamaModel(const LlamaConfig& c, bool zeroed = true);
  ~LlamaModel();
  LlamaModel(const LlamaModel&) = delete;
  LlamaModel& operator=(const LlamaModel&) = delete;

  // The output head, dense or stored (tied: the token embedding).
  ops::WeightRef<T> output_weight() const { return output.empty() ? tok_embd.weight() : output.weight(); }
  Param<T>& output_param() { return output.empty() ? tok_embd : output; }

  // Every base tensor, in GGUF naming ("token_embd.weight", "blk.0.attn_q.weight", ...).
  std::vector<Param<T>*> base_params();
  std::vector<Linear<T>*> all_linears();
  // Marks every base tensor trainable (full fine-tuning) or frozen.
  void set_base_trainable(bool trainable);
  void visit_trainable(const ParamVisitor<T>& visit);
  void zero_grad();
  int64_t parameter_count() const;
  // Copies every base tensor from a model of the same configuration.
  void copy_weights_from(LlamaModel& other);

  // Training: forward, loss and backward in one call. Gradients are
  // accumulated with weight grad_scale per scored token (pass 1/total scored
  // tokens over all micro-batches for a mean loss). Returns the SUM of the
  // per-token losses of this batch.
  double forward_backward(const Batch& batch, double grad_scale);
  // Evaluation: the sum of per-token losses, no gradients, nothing kept.
  double forward_loss(const Batch& batch);

  // Embeddings: the final normalised hidden states rmsnorm(x)·w_out
  // [B·T, dim] of a batch (targets unused), in a buffer owned by the model
  // and valid until the next forward. Attention is causal, so in a
  // right-padded batch the padding after a row's real tokens never reaches
  // them: their states equal those of the row alone. With `training`,
  // everything backward_hidden needs is kept (adapters run their dropout).
  const T* forward_hidden(const Batch& batch, bool training);
  // Backward of the last training forward_hidden: dhidden [B·T, dim] =
  // dL/d(hidden); accumulates into trainable tensors and adapters.
  void backward_hidden(const T* dhidden);

  // Generation (model/llama_cached.cpp): feeds n tokens at positions
  // cache.length.., appends to the cache, and writes the logits of the last
  // token [vocab]. The cache holds keys and values as F32 (the compute type)
  // or BF16.
  KvCache<T> make_cache(int64_t capacity, DType kv_dtype = DType::F32) const;
  void forward_cached(KvCache<T>& cache, const int32_t* tokens, int64_t n, T* last_logits);

  // Bytes of activations the last forward_backward kept for backward
  // (measured from the buffers actually allocated).
  int64_t last_saved_bytes() const { return last_saved_bytes_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int64_t last_saved_bytes_ = 0;
};

// Loads a GGUF file's weights into a model of its configuration (compute type
// T). `policy` picks the storage type of the frozen matrices (base_dtype.h;
// f32 models only, double models are always dense). Throws "[model] ..." on
// missing or mis-shaped tensors.
template <typename T>
std::unique_ptr<LlamaModel<T>> load_llama_gguf(const GgufFile& f, BaseDType policy = BaseDType::F32);

// Random initialisation for models built from scratch (demo, benchmarks):
// weights N(0, 0.02), output projections scaled by 1/sqrt(2·layers), norms 1.
template <typename T>
void init_llama_random(LlamaModel<T>& m, uint64_t seed);

}  // namespace peft

namespace peft {

// Writes the model's base tensors as a GGUF file, with the metadata of
// `source` (architecture, hyperparameters, tokenizer) when given, else the
// hyperparameters from the config alone. Matrices are written in
// `matrix_type` when given (re-quantized or rounded), else each in the type
// it is held in (stored weights byte for byte); norms and biases in F32.
// Written atomically.
template <typename T>
void save_llama_gguf(LlamaModel<T>& m, const GgufFile* source, const std::string& path,
                     std::optional<DType> matrix_type = std::nullopt);

}  // namespace peft
