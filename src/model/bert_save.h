// BERT-family encoders written as a Hugging Face folder that transformers'
// AutoModel (and our load_bert_hf) reads: config.json and model.safetensors
// (F32) with BertModel's tensor names (bert_hf_tensor_name), no prefix.
#pragma once
#include <string>

#include "model/bert.h"

namespace peft {

// config.json text for `c`: model_type and architectures (BertModel,
// RobertaModel, XLMRobertaModel), the sizes, hidden_act "gelu",
// position_embedding_type "absolute", and transformers' defaults for the
// dropout and init fields the model does not use at inference.
std::string bert_config_to_hf_json(const BertConfig& c);

// Writes `dir`/model.safetensors (atomically) and, when `config_json` is
// non-empty, `dir`/config.json with that text (else the generated one).
// The folder is created if missing. Throws InputError "[model] ..." /
// "[safetensors] ..." when it cannot be written.
void save_bert_hf(BertModel<float>& m, const std::string& dir, const std::string& config_json = "");

}  // namespace peft
