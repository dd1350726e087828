// Loading BERT-family encoders from Hugging Face directories: every tensor
// lands in the right parameter under the names transformers writes, with a
// task model's prefix, with TensorFlow-era gamma/beta LayerNorm names, from
// shards, and with clear errors for missing or mis-shaped tensors.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/error.h"
#include "core/rng.h"
#include "io/safetensors.h"
#include "model/bert_load.h"
#include "test_util.h"

using namespace peft;
using namespace peft::test;
namespace fs = std::filesystem;

namespace {

const char* kConfig = R"({"model_type": "bert", "vocab_size": 31, "hidden_size": 8, "num_hidden_layers": 2,
  "num_attention_heads": 2, "intermediate_size": 12, "max_position_embeddings": 20, "type_vocab_size": 2,
  "layer_norm_eps": 1e-12, "pad_token_id": 0, "hidden_act": "gelu"})";

struct Options {
  std::string prefix;
  bool gamma_beta = false;
  bool sharded = false;
  bool with_pooler = true;
  std::string drop;  // a tensor to leave out
};

Options options(std::string prefix, bool gamma_beta, bool sharded, std::string drop = "") {
  Options o;
  o.prefix = std::move(prefix);
  o.gamma_beta = gamma_beta;
  o.sharded = sharded;
  o.drop = std::move(drop);
  return o;
}

// Writes a directory whose tensors are a model's parameters, each filled with
// distinct values, and returns the model.
std::unique_ptr<BertModel<float>> write_dir(const std::string& dir, const Options& o) {
  write_file(dir + "/config.json", kConfig);
  auto m = std::make_unique<BertModel<float>>(bert_config_from_hf_json_text(kConfig, "cfg"));
  Rng rng(3);
  std::vector<Tensor> keep;
  SafetensorsWriter a, b;
  std::string index = R"({"metadata": {}, "weight_map": {)";
  int k = 0;
  for (Param<float>* p : m->base_params()) {
    for (int64_t i = 0; i < p->numel(); ++i) p->data[i] = static_cast<float>(rng.normal());
    std::string name = o.prefix + bert_hf_tensor_name(p->name);
    if (o.gamma_beta && name.find("LayerNorm.weight") != std::string::npos) name.replace(name.size() - 6, 6, "gamma");
    if (o.gamma_beta && name.find("LayerNorm.bias") != std::string::npos) name.replace(name.size() - 4, 4, "beta");
    if (name == o.prefix + o.drop) continue;
    keep.push_back(Tensor::view(DType::F32, p->shape, p->data.get(), nullptr));
    SafetensorsWriter& w = o.sharded && (k++ % 2) ? b : a;
    w.add(name, keep.back());
    index += std::string(k > 1 ? ", " : "") + "\"" + name + "\": \"" +
             (o.sharded && &w == &b ? "model-00002-of-00002.safetensors" : "model-00001-of-00002.safetensors") + "\"";
  }
  Tensor pooler = Tensor::zeros(DType::F32, {8, 8});
  if (o.with_pooler) a.add(o.prefix + "pooler.dense.weight", pooler);
  if (o.with_pooler && o.sharded)
    index += ", \"" + o.prefix + "pooler.dense.weight\": \"model-00001-of-00002.safetensors\"";
  if (o.sharded) {
    a.write(dir + "/model-00001-of-00002.safetensors");
    b.write(dir + "/model-00002-of-00002.safetensors");
    write_file(dir + "/model.safetensors.index.json", index + "}}");
  } else {
    a.write(dir + "/model.safetensors");
  }
  return m;
}

void expect_same(BertModel<float>& want, BertModel<float>& got) {
  auto pw = want.base_params(), pg = got.base_params();
  ASSERT_EQ(pw.size(), pg.size());
  for (size_t i = 0; i < pw.size(); ++i)
    for (int64_t j = 0; j < pw[i]->numel(); ++j) ASSERT_EQ(pw[i]->data[j], pg[i]->data[j]) << pw[i]->name;
}

}  // namespace

TEST(BertLoad, NamesPrefixesOldLayerNormNamesAndShards) {
  for (const Options& o : {options("", false, false), options("bert.", false, false), options("roberta.", true, false),
                          options("", false, true)}) {
    SCOPED_TRACE("prefix '" + o.prefix + "' gamma/beta " + std::to_string(o.gamma_beta) + " sharded " +
                 std::to_string(o.sharded));
    const std::string dir = temp_dir("bert_load");
    auto want = write_dir(dir, o);
    auto got = load_bert_hf<float>(dir);
    expect_same(*want, *got);
  }
  EXPECT_EQ(bert_hf_tensor_name("blk.1.ffn_down.bias"), "encoder.layer.1.output.dense.bias");
  EXPECT_EQ(bert_hf_tensor_name("blk.0.attn_output_norm.weight"), "encoder.layer.0.attention.output.LayerNorm.weight");
  EXPECT_THROW(bert_hf_tensor_name("blk.0.ffn_gate.weight"), InputError);
}

TEST(BertLoad, MissingAndMisshapedTensorsAreInputErrors) {
  const std::string dir = temp_dir("bert_load_missing");
  write_dir(dir, options("", false, false, "encoder.layer.1.intermediate.dense.bias"));
  try {
    load_bert_hf<float>(dir);
    ADD_FAILURE() << "loaded with a tensor missing";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("'encoder.layer.1.intermediate.dense.bias' is missing"), std::string::npos)
        << e.what();
  }
  // A config whose sizes do not match the tensors.
  const std::string dir2 = temp_dir("bert_load_shape");
  write_dir(dir2, options("", false, false));
  std::string cfg = kConfig;
  cfg.replace(cfg.find("\"intermediate_size\": 12"), 23, "\"intermediate_size\": 13");
  write_file(dir2 + "/config.json", cfg);
  try {
    load_bert_hf<float>(dir2);
    ADD_FAILURE() << "loaded mis-shaped tensors";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("has shape"), std::string::npos) << e.what();
  }
  // No weights at all.
  const std::string dir3 = temp_dir("bert_load_none");
  write_file(dir3 + "/config.json", kConfig);
  EXPECT_THROW(load_bert_hf<float>(dir3), InputError);
}
