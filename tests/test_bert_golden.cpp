// BERT and XLM-RoBERTa encoders with random weights of the all-MiniLM-L6-v2,
// bge-small-en-v1.5 and multilingual-e5-small shapes, loaded from
// sentence-transformers folders, against an independent float64 PyTorch
// implementation (bench/make_bert_goldens.py): pooled, normalised
// embeddings to 1e-4, and padding in a batch changes no embedding by more
// than 1e-5. Also the folder reader on the real all-MiniLM-L6-v2 legacy layout.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/tensor.h"
#include "embed/encoder_embedder.h"
#include "io/gguf.h"
#include "io/safetensors.h"
#include "model/bert_load.h"
#include "model/embedding_folder.h"
#include "test_util.h"

using namespace peft;
using namespace peft::test;
namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {

// The generator make_bert_goldens.py uses: splitmix64's finaliser of
// z = (seed << 32) + i + 1, top 53 bits as u in [0, 1), value offset +
// scale · (2u − 1) in double, rounded once to float.
float draw(uint64_t seed, uint64_t i, double offset, double scale) {
  uint64_t z = (seed << 32) + i + 1;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  const double u = static_cast<double>(z >> 11) * (1.0 / 9007199254740992.0);
  return static_cast<float>(offset + scale * (2.0 * u - 1.0));
}

std::string data_dir(const std::string& name) { return std::string(PEFT_SOURCE_DIR) + "/tests/data/bert/" + name; }

// Copies the weightless folder to a temp dir and writes model.safetensors
// from weights.json.
std::string materialise(const std::string& name) {
  const std::string src = data_dir(name);
  const std::string dst = temp_dir("bert_golden_" + name);
  fs::copy(src, dst, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  const Json w = Json::parse(read_file(src + "/weights.json"));
  SafetensorsWriter writer;
  std::vector<Tensor> keep;
  for (const Json& t : w["tensors"]) {
    Shape shape = t["shape"].get<Shape>();
    Tensor x = Tensor::zeros(DType::F32, shape);
    float* p = x.mutable_ptr<float>();
    const uint64_t seed = t["seed"].get<uint64_t>();
    const double off = t["offset"].get<double>(), sc = t["scale"].get<double>();
    for (int64_t i = 0; i < shape_numel(shape); ++i) p[i] = draw(seed, static_cast<uint64_t>(i), off, sc);
    keep.push_back(x);
    writer.add(t["name"].get<std::string>(), keep.back());
  }
  writer.set_metadata("format", "pt");
  writer.write(dst + "/model.safetensors");
  return dst;
}

struct Golden {
  std::vector<std::vector<int32_t>> seqs;
  std::vector<std::vector<double>> emb, emb_trunc;
  int64_t trunc_dims = 0;
};

Golden read_golden(const std::string& name) {
  const Json j = Json::parse(read_file(data_dir(name) + "/expected.json"));
  Golden g;
  g.seqs = j["sequences"].get<std::vector<std::vector<int32_t>>>();
  g.emb = j["embeddings"].get<std::vector<std::vector<double>>>();
  g.emb_trunc = j["embeddings_truncated"].get<std::vector<std::vector<double>>>();
  g.trunc_dims = j["truncate_dims"].get<int64_t>();
  return g;
}

EncoderBatch padded_batch(const std::vector<std::vector<int32_t>>& seqs, int32_t pad) {
  EncoderBatch b;
  b.B = static_cast<int64_t>(seqs.size());
  for (const auto& s : seqs) b.T = std::max<int64_t>(b.T, static_cast<int64_t>(s.size()));
  for (const auto& s : seqs)
    for (int64_t t = 0; t < b.T; ++t) {
      const bool on = t < static_cast<int64_t>(s.size());
      b.tokens.push_back(on ? s[t] : pad);
      b.mask.push_back(on ? 1 : 0);
    }
  return b;
}

double max_abs_diff(const float* got, const std::vector<double>& want) {
  double worst = 0;
  for (size_t i = 0; i < want.size(); ++i) worst = std::max(worst, std::fabs(static_cast<double>(got[i]) - want[i]));
  return worst;
}

void check_model(const std::string& name, ops::PoolMode pooling, const std::string& arch, int64_t layers) {
  const std::string dir = materialise(name);
  const Golden g = read_golden(name);
  auto e = EncoderEmbedder<float>::load(dir);
  EXPECT_EQ(e->folder.pooling, pooling);
  EXPECT_TRUE(e->folder.normalize);
  EXPECT_EQ(e->folder.max_seq_length, 256);
  EXPECT_EQ(e->model->cfg.arch, arch);
  EXPECT_EQ(e->model->cfg.n_layers, layers);
  EXPECT_EQ(e->dim(), 384);

  const EncoderBatch batch = padded_batch(g.seqs, e->model->cfg.pad_token_id);
  const int64_t C = e->dim();
  std::vector<float> all(e->forward(batch, 0, false), e->forward(batch, 0, false) + batch.B * C);
  double worst = 0, worst_pad = 0;
  for (int64_t i = 0; i < batch.B; ++i) {
    const double d = max_abs_diff(all.data() + i * C, g.emb[i]);
    worst = std::max(worst, d);
    EXPECT_LT(d, 1e-4) << name << " sequence " << i << " (length " << g.seqs[i].size() << ")";
    // The same sequence alone, without padding.
    const EncoderBatch one = padded_batch({g.seqs[i]}, e->model->cfg.pad_token_id);
    const float* alone = e->forward(one, 0, false);
    double pd = 0;
    for (int64_t c = 0; c < C; ++c) pd = std::max(pd, std::fabs(static_cast<double>(alone[c]) - all[i * C + c]));
    worst_pad = std::max(worst_pad, pd);
    EXPECT_LT(pd, 1e-5) << name << " sequence " << i;
  }
  // Matryoshka: truncated, then normalised.
  const float* tr = e->forward(batch, g.trunc_dims, false);
  double worst_tr = 0;
  for (int64_t i = 0; i < batch.B; ++i) worst_tr = std::max(worst_tr, max_abs_diff(tr + i * g.trunc_dims, g.emb_trunc[i]));
  EXPECT_LT(worst_tr, 1e-4);
  std::printf("[golden] %s: max |ours - torch| %.3g (truncated to %lld: %.3g), max padding drift %.3g\n", name.c_str(),
              worst, static_cast<long long>(g.trunc_dims), worst_tr, worst_pad);
  EXPECT_THROW(e->forward(batch, C + 1, false), InputError);
  fs::remove_all(dir);
}

// Writes `m` as llama.cpp's converter writes a bert GGUF: roberta-style
// models get their position table cut past the padding index and are stored
// as arch "bert".
void write_bert_gguf(BertModel<float>& m, ops::PoolMode pooling, const std::string& path) {
  GgufWriter w;
  const BertConfig& c = m.cfg;
  const int64_t cut = c.offset_positions() ? c.pad_token_id + 1 : 0;
  w.set("general.architecture", GgufValue::string("bert"));
  w.set("bert.context_length", GgufValue::u32(static_cast<uint32_t>(c.max_positions - cut)));
  w.set("bert.embedding_length", GgufValue::u32(static_cast<uint32_t>(c.dim)));
  w.set("bert.feed_forward_length", GgufValue::u32(static_cast<uint32_t>(c.hidden_dim)));
  w.set("bert.block_count", GgufValue::u32(static_cast<uint32_t>(c.n_layers)));
  w.set("bert.attention.head_count", GgufValue::u32(static_cast<uint32_t>(c.n_heads)));
  w.set("bert.attention.layer_norm_epsilon", GgufValue::f32(static_cast<float>(c.norm_eps)));
  w.set("bert.attention.causal", GgufValue::boolean(false));
  w.set("bert.pooling_type", GgufValue::u32(pooling == ops::PoolMode::Cls ? 2 : 1));
  w.set("tokenizer.ggml.padding_token_id", GgufValue::u32(static_cast<uint32_t>(c.pad_token_id)));
  std::vector<Tensor> keep;
  for (Param<float>* p : m.base_params()) {
    Tensor t = Tensor::view(DType::F32, p->shape, p->data.get(), nullptr);
    if (p == &m.pos_embd && cut > 0)
      t = Tensor::view(DType::F32, {c.max_positions - cut, c.dim}, p->data.get() + cut * c.dim, nullptr);
    keep.push_back(t);
    w.add_tensor(p->name, keep.back());
  }
  w.write(path);
}

}  // namespace

TEST(BertGolden, MiniLmL6ShapeMeanPooling) { check_model("minilm-l6", ops::PoolMode::Mean, "bert", 6); }

TEST(BertGolden, BgeSmallShapeClsPooling) { check_model("bge-small", ops::PoolMode::Cls, "bert", 12); }

TEST(BertGolden, XlmRobertaShapePrefixedTensorsAndPrompts) {
  check_model("me5-small", ops::PoolMode::Mean, "xlm-roberta", 12);
  const EmbeddingFolder f = read_embedding_folder(data_dir("me5-small"));
  EXPECT_EQ(f.prompts.at("query"), "query: ");
  EXPECT_EQ(f.similarity, "cosine");
}

TEST(EmbeddingFolder, LegacyAllMiniLmLayout) {
  // The real sentence-transformers folder of all-MiniLM-L6-v2 in its older
  // layout: the Transformer in 0_Transformer/, mean pooling, no Normalize.
  const std::string dir = shared_path("hf/all-MiniLM-L6-v2-st-legacy");
  const EmbeddingFolder f = read_embedding_folder(dir);
  EXPECT_TRUE(f.sentence_transformers);
  EXPECT_EQ(fs::path(f.transformer_dir).filename(), "0_Transformer");
  EXPECT_EQ(f.pooling, ops::PoolMode::Mean);
  EXPECT_FALSE(f.normalize);
  EXPECT_EQ(f.dim, 384);
  const BertConfig c = bert_config_from_hf_json(f.transformer_dir + "/config.json");
  EXPECT_EQ(c.arch, "bert");
  EXPECT_EQ(c.n_layers, 6);
  EXPECT_EQ(c.dim, 384);
  EXPECT_EQ(c.n_heads, 12);
  EXPECT_EQ(c.hidden_dim, 1536);
  EXPECT_EQ(c.vocab_size, 30522);
  EXPECT_EQ(c.max_positions, 512);
  EXPECT_EQ(c.type_vocab_size, 2);
  EXPECT_EQ(c.norm_eps, 1e-12);
  // Its weights are not included: the loader says so in one line.
  try {
    EncoderEmbedder<float>::load(dir);
    ADD_FAILURE() << "loaded a folder without weights";
  } catch (const InputError& err) {
    EXPECT_NE(std::string(err.what()).find("[model] "), std::string::npos) << err.what();
    EXPECT_NE(std::string(err.what()).find("no model.safetensors"), std::string::npos) << err.what();
  }
}

TEST(EmbeddingFolder, FoldersThatAreNotEmbeddingModelsFailClearly) {
  auto expect_model_error = [](const std::string& dir, const std::string& needle) {
    try {
      read_embedding_folder(dir);
      ADD_FAILURE() << dir << " was accepted";
    } catch (const InputError& err) {
      const std::string m = err.what();
      EXPECT_EQ(m.rfind("[model] ", 0), 0u) << m;
      EXPECT_NE(m.find(needle), std::string::npos) << m;
    }
  };
  const std::string empty = temp_dir("not_embedding_empty");
  expect_model_error(empty, "not an embedding model folder");
  expect_model_error(empty + "/missing", "not a directory");

  const std::string dense = temp_dir("not_embedding_dense");
  write_file(dense + "/config.json", "{}");
  write_file(dense + "/modules.json",
             R"([{"idx":0,"name":"0","path":"","type":"sentence_transformers.models.Transformer"},
                 {"idx":1,"name":"1","path":"1_Pooling","type":"sentence_transformers.models.Pooling"},
                 {"idx":2,"name":"2","path":"2_Dense","type":"sentence_transformers.models.Dense"}])");
  fs::create_directories(dense + "/1_Pooling");
  write_file(dense + "/1_Pooling/config.json", R"({"pooling_mode_mean_tokens": true})");
  expect_model_error(dense, "is not supported");

  const std::string maxpool = temp_dir("not_embedding_max");
  write_file(maxpool + "/config.json", "{}");
  write_file(maxpool + "/modules.json",
             R"([{"idx":0,"name":"0","path":"","type":"sentence_transformers.models.Transformer"},
                 {"idx":1,"name":"1","path":"1_Pooling","type":"sentence_transformers.models.Pooling"}])");
  fs::create_directories(maxpool + "/1_Pooling");
  write_file(maxpool + "/1_Pooling/config.json", R"({"pooling_mode_max_tokens": true})");
  expect_model_error(maxpool, "pooling mode 'max' is not supported");
  write_file(maxpool + "/1_Pooling/config.json", R"({"pooling_mode": "cls"})");
  EXPECT_EQ(read_embedding_folder(maxpool).pooling, ops::PoolMode::Cls);

  // A decoder's config.json is not a BERT-family encoder.
  try {
    bert_config_from_hf_json(shared_path("hf/llama-3.2-1b/config.json"));
    ADD_FAILURE() << "llama config accepted as an encoder";
  } catch (const InputError& err) {
    EXPECT_NE(std::string(err.what()).find("is not a BERT-family encoder"), std::string::npos) << err.what();
  }
  // Options that change the math fail instead of being dropped.
  EXPECT_THROW(bert_config_from_hf_json_text(
                   R"({"model_type":"bert","vocab_size":10,"hidden_size":8,"num_hidden_layers":1,
                       "num_attention_heads":2,"intermediate_size":16,"hidden_act":"gelu_new"})",
                   "cfg"),
               InputError);
  EXPECT_THROW(bert_config_from_hf_json_text(
                   R"({"model_type":"bert","vocab_size":10,"hidden_size":8,"num_hidden_layers":1,
                       "num_attention_heads":2,"intermediate_size":16,"position_embedding_type":"relative_key"})",
                   "cfg"),
               InputError);
}

TEST(BertGolden, LlamaCppGgufLayoutGivesTheSameEmbeddings) {
  // The golden models written as llama.cpp's bert GGUF (XLM-R with its cut
  // position table) load through load_bert_gguf and match the same goldens.
  for (const std::string name : {"minilm-l6", "me5-small"}) {
    SCOPED_TRACE(name);
    const std::string dir = materialise(name);
    const Golden g = read_golden(name);
    auto hf = EncoderEmbedder<float>::load(dir);
    const std::string path = dir + "/model.gguf";
    write_bert_gguf(*hf->model, hf->folder.pooling, path);
    auto e = EncoderEmbedder<float>::load(path);
    EXPECT_EQ(e->model->cfg.arch, "bert");
    EXPECT_EQ(e->folder.pooling, hf->folder.pooling);
    const EncoderBatch batch = padded_batch(g.seqs, e->model->cfg.pad_token_id);
    const float* got = e->forward(batch, 0, false);
    double worst = 0;
    for (int64_t i = 0; i < batch.B; ++i) worst = std::max(worst, max_abs_diff(got + i * e->dim(), g.emb[i]));
    EXPECT_LT(worst, 1e-4);
    std::printf("[golden] %s from GGUF: max |ours - torch| %.3g\n", name.c_str(), worst);
    fs::remove_all(dir);
  }
  // A decoder GGUF is not an encoder.
  try {
    auto e = EncoderEmbedder<float>::load(shared_path("models/stories260K.gguf"));
    ADD_FAILURE() << "a llama GGUF loaded as an encoder";
  } catch (const InputError& err) {
    EXPECT_NE(std::string(err.what()).find("is not a BERT encoder"), std::string::npos) << err.what();
  }
}
