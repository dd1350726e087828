#include "model/bert_load.h"

#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include "core/error.h"
#include "core/log.h"
#include "io/atomic_file.h"
#include "io/safetensors_model.h"
#include "model/param_copy.h"
#include "model/config_keys.h"

namespace peft {

namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

bool starts_with(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }
bool ends_with(const std::string& s, const std::string& p) {
  return s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
}

}  // namespace

BertConfig bert_config_from_hf_json_text(const std::string& json_text, const std::string& label) {
  const Json root = parse_config_object(json_text, label);
  KeyReader r{root, label, ""};
  if (!r.has("model_type")) r.bad("key 'model_type' is missing");
  const std::string type = r.string("model_type", "");
  if (type != "bert" && type != "roberta" && type != "xlm-roberta")
    fail("model", label + ": model_type '" + type +
                      "' is not a BERT-family encoder (supported: bert, roberta, xlm-roberta)");
  BertConfig c;
  c.arch = type;
  c.vocab_size = r.positive_int("vocab_size");
  c.dim = r.positive_int("hidden_size");
  c.n_layers = r.positive_int("num_hidden_layers");
  c.n_heads = r.positive_int("num_attention_heads");
  c.hidden_dim = r.positive_int("intermediate_size");
  c.max_positions = r.positive_int("max_position_embeddings", 512);
  c.type_vocab_size = r.positive_int("type_vocab_size", 2);
  c.norm_eps = r.positive_number("layer_norm_eps", 1e-12);
  const int64_t pad_default = type == "bert" ? 0 : 1;
  if (r.has("pad_token_id")) {
    const Json& v = root["pad_token_id"];
    if (!v.is_number_integer() || v.get<int64_t>() < 0) r.bad("key 'pad_token_id' must be a non-negative integer");
    c.pad_token_id = static_cast<int32_t>(v.get<int64_t>());
  } else {
    c.pad_token_id = static_cast<int32_t>(pad_default);
  }
  const std::string act = r.string("hidden_act", "gelu");
  if (act != "gelu")
    r.bad("hidden_act '" + act + "' is not supported (the encoder computes the exact erf GELU, 'gelu')");
  const std::string pet = r.string("position_embedding_type", "absolute");
  if (pet != "absolute") r.bad("position_embedding_type '" + pet + "' is not supported (only 'absolute')");
  if (c.dim % c.n_heads != 0)
    r.bad("hidden_size " + std::to_string(c.dim) + " is not a multiple of num_attention_heads " +
          std::to_string(c.n_heads));
  c.validate();
  return c;
}

BertConfig bert_config_from_hf_json(const std::string& path) {
  return bert_config_from_hf_json_text(read_file_bytes(path), path);
}

std::string bert_hf_tensor_name(const std::string& n) {
  static const std::map<std::string, std::string> top{
      {"token_embd.weight", "embeddings.word_embeddings.weight"},
      {"position_embd.weight", "embeddings.position_embeddings.weight"},
      {"token_types.weight", "embeddings.token_type_embeddings.weight"},
      {"token_embd_norm.weight", "embeddings.LayerNorm.weight"},
      {"token_embd_norm.bias", "embeddings.LayerNorm.bias"},
  };
  static const std::map<std::string, std::string> layer{
      {"attn_q", "attention.self.query"},          {"attn_k", "attention.self.key"},
      {"attn_v", "attention.self.value"},          {"attn_output", "attention.output.dense"},
      {"attn_output_norm", "attention.output.LayerNorm"}, {"ffn_up", "intermediate.dense"},
      {"ffn_down", "output.dense"},                {"layer_output_norm", "output.LayerNorm"},
  };
  if (auto it = top.find(n); it != top.end()) return it->second;
  if (starts_with(n, "blk.")) {
    const size_t d1 = n.find('.', 4), d2 = n.rfind('.');
    if (d1 != std::string::npos && d2 > d1) {
      const std::string idx = n.substr(4, d1 - 4), part = n.substr(d1 + 1, d2 - d1 - 1), kind = n.substr(d2 + 1);
      auto it = layer.find(part);
      const bool digits = !idx.empty() && idx.find_first_not_of("0123456789") == std::string::npos;
      if (digits && it != layer.end() && (kind == "weight" || kind == "bias"))
        return "encoder.layer." + idx + "." + it->second + "." + kind;
    }
  }
  fail("model", "tensor '" + n + "' has no Hugging Face BERT name");
}

template <typename T>
std::unique_ptr<BertModel<T>> load_bert_hf(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) fail("model", dir + ": not a directory");
  const std::string config_path = (fs::path(dir) / "config.json").string();
  if (!fs::exists(config_path, ec)) fail("model", dir + ": no config.json in the directory");
  BertConfig cfg = bert_config_from_hf_json(config_path);
  if (!fs::exists(fs::path(dir) / "model.safetensors", ec) &&
      !fs::exists(fs::path(dir) / "model.safetensors.index.json", ec)) {
    const bool bin = fs::exists(fs::path(dir) / "pytorch_model.bin", ec);
    fail("model", dir + ": no model.safetensors or model.safetensors.index.json in the directory" +
                      std::string(bin ? " (pytorch_model.bin is a pickle, which is not read; convert it to "
                                        "safetensors)"
                                      : ""));
  }
  auto st = SafetensorsModel::open(dir);

  // The prefix task models put in front of the encoder's names.
  std::string prefix;
  for (const char* p : {"", "bert.", "roberta.", "model."})
    if (st->has(std::string(p) + "embeddings.word_embeddings.weight")) {
      prefix = p;
      break;
    }
  auto m = std::make_unique<BertModel<T>>(cfg);
  std::set<std::string> used;
  for (Param<T>* p : m->base_params()) {
    std::string hf = prefix + bert_hf_tensor_name(p->name);
    if (!st->has(hf) && ends_with(hf, "LayerNorm.weight")) {  // TensorFlow-era names
      const std::string old = hf.substr(0, hf.size() - 6) + "gamma";
      if (st->has(old)) hf = old;
    } else if (!st->has(hf) && ends_with(hf, "LayerNorm.bias")) {
      const std::string old = hf.substr(0, hf.size() - 4) + "beta";
      if (st->has(old)) hf = old;
    }
    if (!st->has(hf)) fail("model", dir + ": tensor '" + hf + "' is missing");
    const std::string file = st->file_of(hf).path();
    const Shape& shape = st->shape(hf);
    if (shape != p->shape)
      fail("model", file + ": tensor '" + hf + "' has shape " + shape_str(shape) + ", expected " +
                        shape_str(p->shape));
    const DType dt = st->dtype(hf);
    if (dt != DType::F32 && dt != DType::F16 && dt != DType::BF16 && dt != DType::F64)
      fail("model", file + ": tensor '" + hf + "' has dtype " + dtype_name(dt) + "; expected F32, F16, BF16 or F64");
    copy_into(st->tensor(hf), *p);
    used.insert(hf);
  }
  std::vector<std::string> extra;
  for (const std::string& n : st->names()) {
    if (used.count(n)) continue;
    const std::string bare = n.substr(starts_with(n, prefix) ? prefix.size() : 0);
    if (starts_with(bare, "pooler.") || bare == "embeddings.position_ids") continue;
    extra.push_back(n);
  }
  if (!extra.empty()) {
    std::string list;
    for (size_t i = 0; i < extra.size() && i < 3; ++i) list += (i ? ", '" : "'") + extra[i] + "'";
    if (extra.size() > 3) list += ", ...";
    log_warn(dir + ": " + std::to_string(extra.size()) + " tensor(s) not used by the encoder: " + list);
  }
  return m;
}

template std::unique_ptr<BertModel<float>> load_bert_hf<float>(const std::string&);
template std::unique_ptr<BertModel<double>> load_bert_hf<double>(const std::string&);

}  // namespace peft
