// BERT-family encoders as Hugging Face directories: config.json plus
// model.safetensors (or shards named by model.safetensors.index.json), with
// transformers' BertModel / RobertaModel / XLMRobertaModel tensor names:
//   embeddings.{word,position,token_type}_embeddings.weight, embeddings.LayerNorm.*,
//   encoder.layer.N.attention.self.{query,key,value}.*, attention.output.{dense,LayerNorm}.*,
//   intermediate.dense.*, output.{dense,LayerNorm}.*
// optionally under "bert." or "roberta." (checkpoints of the task models),
// and with LayerNorm's older gamma/beta names. The pooler and the
// position_ids buffer are not used by embedding models and are skipped.
#pragma once
#include <memory>
#include <string>

#include "model/bert.h"
#include "ops/pooling.h"

namespace peft {

class GgufFile;

// config.json keys and defaults (those of transformers' BertConfig /
// XLMRobertaConfig): model_type (bert, roberta, xlm-roberta), vocab_size,
// hidden_size, num_hidden_layers, num_attention_heads, intermediate_size
// (required); max_position_embeddings (512), type_vocab_size (2),
// layer_norm_eps (1e-12), pad_token_id (bert 0, roberta 1). hidden_act must be
// the exact "gelu" and position_embedding_type "absolute": the others change
// what the model computes and fail instead of being dropped.
// Throws InputError "[config] <label>: ..."; a model_type that is not an
// encoder fails with "[model] ...: ... is not a BERT-family encoder".
BertConfig bert_config_from_hf_json_text(const std::string& json_text, const std::string& label);
BertConfig bert_config_from_hf_json(const std::string& path);

// transformers' name (without a prefix) of one of our parameters:
// "blk.3.attn_q.weight" → "encoder.layer.3.attention.self.query.weight".
std::string bert_hf_tensor_name(const std::string& param_name);

// Loads `dir` (config.json + safetensors). F32/F16/BF16/F64 tensors are
// converted to T. Throws InputError "[model] <dir>: ..." for a missing or
// mis-shaped tensor; tensors the model has no use for are listed in one warning.
template <typename T>
std::unique_ptr<BertModel<T>> load_bert_hf(const std::string& dir);

// llama.cpp's bert GGUF, as convert_hf_to_gguf.py writes BertModel,
// RobertaModel and XLMRobertaModel: general.architecture "bert", tensors under
// the same names as our parameters, hyperparameters under "bert.*", the pad id
// in tokenizer.ggml.padding_token_id. For roberta-style models the converter
// cuts the position table past the padding index, so positions count from 0
// as in bert: such a file loads as arch "bert" and computes the same. A file
// without token_types gets a single zero type row (llama.cpp adds nothing).
// Throws InputError "[model] <path>: ..." for another architecture, causal
// attention, or missing / mis-shaped tensors.
BertConfig bert_config_from_gguf(const GgufFile& f);
template <typename T>
std::unique_ptr<BertModel<T>> load_bert_gguf(const GgufFile& f);
// bert.pooling_type: 1 mean, 2 cls, 3 last (mean when absent); none (0) and
// rank (4) are not embeddings and fail.
ops::PoolMode bert_gguf_pooling(const GgufFile& f);

}  // namespace peft
