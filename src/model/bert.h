// BERT-family encoders (bert, roberta, xlm-roberta): forward and hand-written
// backward over a padded batch, for embedding models.
//
// Activations are token-major [N, C] with N = B·T rows (row b·T + t).
//   e   = tok[id] + pos[p] + type[tt]                         [N, dim]
//   x   = layernorm(e)                                         embedding norm
// then per layer (post-LayerNorm):
//   q, k, v = x Wqᵀ + bq, x Wkᵀ + bk, x Wvᵀ + bv              [N, dim]
//   a   = attention(q, k, v), bidirectional, padded keys hidden
//   x1  = layernorm(x + a Woᵀ + bo)                            attention output norm
//   x   = layernorm(x1 + gelu(x1 Wupᵀ + bup) Wdownᵀ + bdown)  [N, hidden] inside; layer output norm
// The output is the last x. Positions: bert counts 0, 1, …, T − 1 in every
// row; roberta and xlm-roberta number real tokens from pad + 1 on and give
// padding the position pad (transformers' create_position_ids_from_input_ids,
// where a token is "real" when its id differs from the pad id).
//
// Parameter names follow llama.cpp's bert GGUF: token_embd, position_embd,
// token_types, token_embd_norm, blk.N.attn_{q,k,v,output},
// blk.N.attn_output_norm, blk.N.ffn_{up,down}, blk.N.layer_output_norm.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/batch.h"
#include "model/linear.h"
#include "model/param.h"

namespace peft {

struct BertConfig {
  std::string arch = "bert";  // bert, roberta, xlm-roberta
  int64_t vocab_size = 0;
  int64_t dim = 0;         // hidden_size
  int64_t hidden_dim = 0;  // intermediate_size
  int64_t n_layers = 0;
  int64_t n_heads = 0;
  int64_t max_positions = 512;  // rows of the position table
  int64_t type_vocab_size = 2;
  double norm_eps = 1e-12;
  int32_t pad_token_id = 0;

  int64_t head_dim() const { return n_heads > 0 ? dim / n_heads : 0; }
  // roberta / xlm-roberta: positions start past the padding index.
  bool offset_positions() const { return arch != "bert"; }
  // The longest sequence the position table allows.
  int64_t max_tokens() const { return offset_positions() ? max_positions - pad_token_id - 1 : max_positions; }
  // Throws "[model] ..." for inconsistent values.
  void validate() const;
  std::string describe() const;
};

template <typename T>
struct BertLayer {
  Linear<T> wq, wk, wv, wo, w_up, w_down;
  Param<T> attn_norm_w, attn_norm_b;  // [dim]: after attention + residual
  Param<T> out_norm_w, out_norm_b;    // [dim]: after MLP + residual
  std::vector<Linear<T>*> linears() { return {&wq, &wk, &wv, &wo, &w_up, &w_down}; }
};

template <typename T>
class BertModel {
 public:
  BertConfig cfg;
  Param<T> tok_embd;   // [vocab, dim]
  Param<T> pos_embd;   // [max_positions, dim]
  Param<T> type_embd;  // [type_vocab_size, dim]
  Param<T> embd_norm_w, embd_norm_b;  // [dim]
  std::vector<BertLayer<T>> layers;

  explicit BertModel(const BertConfig& c);
  ~BertModel();
  BertModel(const BertModel&) = delete;
  BertModel& operator=(const BertModel&) = delete;

  std::vector<Param<T>*> base_params();
  std::vector<Linear<T>*> all_linears();
  void set_base_trainable(bool trainable);
  void visit_trainable(const ParamVisitor<T>& visit);
  void zero_grad();
  int64_t parameter_count() const;

  // The position ids of a batch [B, T] (see the header comment).
  std::vector<int32_t> positions(const EncoderBatch& b) const;

  // Final hidden states [B·T, dim] of the batch, in a buffer owned by the
  // model and valid until the next forward. With `training`, everything
  // backward() needs is kept (and adapters run their dropout).
  // Throws InputError "[model] ..." for ids, type ids or lengths the model
  // cannot take.
  const T* forward(const EncoderBatch& b, bool training);
  // Backward of the last training forward: dhidden [B·T, dim] = dL/d(hidden).
  // Accumulates into the gradients of trainable tensors and adapters.
  void backward(const T* dhidden);

  // Bytes of activations the last training forward kept for backward.
  int64_t last_saved_bytes() const { return last_saved_bytes_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int64_t last_saved_bytes_ = 0;
};

}  // namespace peft
