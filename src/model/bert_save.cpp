#include "model/bert_save.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/tensor.h"
#include "io/atomic_file.h"
#include "io/safetensors.h"
#include "model/bert_load.h"

namespace peft {

std::string bert_config_to_hf_json(const BertConfig& c) {
  nlohmann::ordered_json j;
  const char* arch = c.arch == "roberta" ? "RobertaModel" : c.arch == "xlm-roberta" ? "XLMRobertaModel" : "BertModel";
  j["architectures"] = {arch};
  j["model_type"] = c.arch;
  j["vocab_size"] = c.vocab_size;
  j["hidden_size"] = c.dim;
  j["num_hidden_layers"] = c.n_layers;
  j["num_attention_heads"] = c.n_heads;
  j["intermediate_size"] = c.hidden_dim;
  j["hidden_act"] = "gelu";
  j["max_position_embeddings"] = c.max_positions;
  j["type_vocab_size"] = c.type_vocab_size;
  j["layer_norm_eps"] = c.norm_eps;
  j["pad_token_id"] = c.pad_token_id;
  j["position_embedding_type"] = "absolute";
  j["hidden_dropout_prob"] = 0.1;
  j["attention_probs_dropout_prob"] = 0.1;
  j["initializer_range"] = 0.02;
  return j.dump(2) + "\n";
}

void save_bert_hf(BertModel<float>& m, const std::string& dir, const std::string& config_json) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) fail("model", dir + ": cannot create the folder (" + ec.message() + ")");
  SafetensorsWriter w;
  w.set_metadata("format", "pt");
  std::vector<Tensor> keep;
  keep.reserve(m.base_params().size());
  for (Param<float>* p : m.base_params()) {
    keep.push_back(Tensor::view(DType::F32, p->shape, p->data.get(), nullptr));
    w.add(bert_hf_tensor_name(p->name), keep.back());
  }
  w.write((std::filesystem::path(dir) / "model.safetensors").string());
  write_file_atomic((std::filesystem::path(dir) / "config.json").string(),
                    config_json.empty() ? bert_config_to_hf_json(m.cfg) : config_json);
}

}  // namespace peft
