// The Embedder (src/embed/embedder.h): decoder hidden states and their
// backward against finite differences in double; padding that changes no
// embedding (encoder and decoder); the text path against the token-id path
// of EncoderEmbedder (itself checked against PyTorch in test_bert_golden);
// prompts, Matryoshka dims, the training API's gradient, and BERT adapters
// saved under PEFT's names and loaded back.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/rng.h"
#include "embed/embedder.h"
#include "embed/encoder_embedder.h"
#include "embed/st_folder.h"
#include "io/safetensors.h"
#include "io/peft_adapter.h"
#include "model/bert_save.h"
#include "ops/pooling.h"
#include "test_util.h"
#include "tokenizer/encoding.h"

using namespace peft;
using namespace peft::test;
namespace fs = std::filesystem;

namespace {

LlamaConfig tiny_llama() {
  LlamaConfig c;
  c.vocab_size = 29;
  c.dim = 12;
  c.hidden_dim = 20;
  c.n_layers = 2;
  c.n_heads = 3;
  c.n_kv_heads = 1;
  c.head_dim = 4;
  c.context_length = 32;
  c.qk_norm = true;
  return c;
}

void randomize(LlamaModel<double>& m, uint64_t seed) {
  Rng rng(seed);
  for (Param<double>* p : m.base_params())
    for (int64_t i = 0; i < p->numel(); ++i)
      p->data[i] = p->group == "norm" ? 1.0 + 0.3 * rng.normal() : 0.4 * rng.normal();
}

// Row 0 has 6 real tokens, row 1 has 4 followed by 2 padding tokens.
Batch padded_batch() {
  Batch b;
  b.B = 2;
  b.T = 6;
  b.tokens = {3, 17, 5, 28, 9, 1, 4, 11, 22, 7, 0, 0};
  for (int64_t i = 0; i < 12; ++i) b.positions.push_back(static_cast<int32_t>(i % 6));
  return b;
}
const std::vector<uint8_t> kMask = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0};

// A BERT folder of random weights at a small size, with bge-small's real
// WordPiece tokenizer (hence its vocabulary size), CLS pooling, normalised.
std::string tiny_bert_folder(const std::string& tag, const std::string& pooling, bool include_prompt = true) {
  const std::string dir = temp_dir(tag);
  BertConfig c;
  c.vocab_size = 30522;
  c.dim = 16;
  c.hidden_dim = 24;
  c.n_layers = 2;
  c.n_heads = 2;
  c.max_positions = 64;
  BertModel<float> m(c);
  Rng rng(11);
  for (Param<float>* p : m.base_params())
    for (int64_t i = 0; i < p->numel(); ++i)
      p->data[i] = static_cast<float>(p->name.find("norm.weight") != std::string::npos ? 1.0 + 0.2 * rng.normal()
                                                                                        : 0.3 * rng.normal());
  save_bert_hf(m, dir);
  fs::copy_file(shared_path("hf/bge-small-en-v1.5/tokenizer.json"), dir + "/tokenizer.json",
                fs::copy_options::overwrite_existing);
  write_file(dir + "/modules.json",
             R"([{"idx":0,"name":"0","path":"","type":"sentence_transformers.models.Transformer"},
                 {"idx":1,"name":"1","path":"1_Pooling","type":"sentence_transformers.models.Pooling"},
                 {"idx":2,"name":"2","path":"2_Normalize","type":"sentence_transformers.models.Normalize"}])");
  fs::create_directories(dir + "/1_Pooling");
  fs::create_directories(dir + "/2_Normalize");
  write_file(dir + "/1_Pooling/config.json", R"({"word_embedding_dimension": 16, "pooling_mode": ")" + pooling +
                                                 R"(", "include_prompt": )" + (include_prompt ? "true" : "false") +
                                                 "}");
  write_file(dir + "/sentence_bert_config.json", R"({"max_seq_length": 40})");
  write_file(dir + "/config_sentence_transformers.json",
             R"({"prompts": {"query": "Represent this query: ", "doc": ""}, "default_prompt_name": null})");
  return dir;
}

const std::vector<std::string> kTexts = {
    "short one",
    "a considerably longer sentence about searching manual pages for the right options to pass",
    "grep finds lines",
    "",
    "the tar command creates and extracts archives of many files at once",
};

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(double(a[i]) - double(b[i])));
  return m;
}

}  // namespace

TEST(DecoderHidden, BackwardMatchesFiniteDifferences) {
  for (ops::PoolMode mode : {ops::PoolMode::Last, ops::PoolMode::Mean}) {
    SCOPED_TRACE(ops::pool_mode_name(mode));
    LlamaModel<double> m(tiny_llama());
    randomize(m, 3);
    m.set_base_trainable(true);
    const Batch b = padded_batch();
    const int64_t C = m.cfg.dim;
    Rng rr(5);
    std::vector<double> r(b.B * C);
    for (double& x : r) x = rr.normal();
    std::vector<double> pooled(b.B * C);
    auto loss = [&] {
      const double* h = m.forward_hidden(b, false);
      ops::pool_forward<double>(h, kMask.data(), pooled.data(), b.B, b.T, C, mode);
      double s = 0;
      for (size_t i = 0; i < r.size(); ++i) s += r[i] * pooled[i];
      return s;
    };
    m.zero_grad();
    m.forward_hidden(b, true);
    std::vector<double> dh(b.B * b.T * C);
    ops::pool_backward<double>(r.data(), kMask.data(), dh.data(), b.B, b.T, C, mode);
    m.backward_hidden(dh.data());
    int checked = 0;
    m.visit_trainable([&](ParamRef<double>& p) {
      for (int64_t i = 0; i < p.numel; i += 13) {
        const double keep = p.data[i], h = 1e-5;
        p.data[i] = keep + h;
        const double lp = loss();
        p.data[i] = keep - h;
        const double lm = loss();
        p.data[i] = keep;
        const double fd = (lp - lm) / (2 * h);
        ASSERT_NEAR(p.grad[i], fd, 1e-8 + 1e-6 * std::fabs(fd)) << p.name << "[" << i << "]";
        ++checked;
      }
    });
    EXPECT_GT(checked, 100);
  }
}

TEST(DecoderHidden, RightPaddingNeverReachesRealTokens) {
  LlamaModel<double> m(tiny_llama());
  randomize(m, 4);
  const Batch b = padded_batch();
  const int64_t C = m.cfg.dim;
  std::vector<double> batched(m.forward_hidden(b, false), m.forward_hidden(b, false) + b.B * b.T * C);
  Batch one;
  one.B = 1;
  one.T = 4;
  one.tokens = {4, 11, 22, 7};
  one.positions = {0, 1, 2, 3};
  const double* alone = m.forward_hidden(one, false);
  for (int64_t i = 0; i < 4 * C; ++i) ASSERT_NEAR(batched[6 * C + i], alone[i], 1e-12) << i;
}

TEST(Embedder, DecoderPaddingChangesNoEmbedding) {
  auto e = Embedder::load(shared_path("models/stories260K.gguf"));
  EXPECT_TRUE(e->is_decoder());
  EXPECT_EQ(e->info().pooling, ops::PoolMode::Last);
  EXPECT_TRUE(e->info().normalize);
  const int64_t C = e->dim();
  EmbedOptions one;
  one.batch_size = 1;
  EmbedOptions all;
  all.batch_size = 8;
  const std::vector<float> a = e->embed(kTexts, one), b = e->embed(kTexts, all);
  ASSERT_EQ(a.size(), kTexts.size() * C);
  EXPECT_LE(max_abs_diff(a, b), 1e-5);
  for (size_t r = 0; r < kTexts.size(); ++r) {
    double n = 0;
    for (int64_t j = 0; j < C; ++j) n += double(a[r * C + j]) * a[r * C + j];
    EXPECT_NEAR(n, 1.0, 1e-5);
  }
  // Mean pooling over a padded batch too.
  EmbedderOptions mean;
  mean.pooling = "mean";
  auto em = Embedder::load(shared_path("models/stories260K.gguf"), mean);
  EXPECT_LE(max_abs_diff(em->embed(kTexts, one), em->embed(kTexts, all)), 1e-5);
  // Different texts give different embeddings (the model is not constant).
  EXPECT_GT(std::fabs(a[0] - a[C]) + std::fabs(a[1] - a[C + 1]) + std::fabs(a[2] - a[C + 2]), 1e-4);
}

TEST(Embedder, EncoderTextPathMatchesTokenPathAndPaddingChangesNothing) {
  const std::string dir = tiny_bert_folder("embedder_enc", "cls");
  auto e = Embedder::load(dir);
  EXPECT_FALSE(e->is_decoder());
  EXPECT_EQ(e->dim(), 16);
  EXPECT_EQ(e->max_length(), 40);
  EmbedOptions one;
  one.batch_size = 1;
  EmbedOptions all;
  all.batch_size = 8;
  const std::vector<float> a = e->embed(kTexts, one), b = e->embed(kTexts, all);
  EXPECT_LE(max_abs_diff(a, b), 1e-5);

  // The same texts as token ids through EncoderEmbedder, one row at a time.
  auto ref = EncoderEmbedder<float>::load(dir);
  for (size_t i = 0; i < kTexts.size(); ++i) {
    const Encoding enc = encode(e->tokenizer(), kTexts[i], std::nullopt);
    ASSERT_EQ(enc.ids.front(), 101);  // [CLS]
    ASSERT_EQ(enc.ids.back(), 102);   // [SEP]
    EncoderBatch eb;
    eb.B = 1;
    eb.T = static_cast<int64_t>(enc.ids.size());
    eb.tokens = enc.ids;
    const float* y = ref->forward(eb, 0, false);
    for (int64_t j = 0; j < 16; ++j) ASSERT_NEAR(a[i * 16 + j], y[j], 1e-6) << i << "," << j;
  }

  // Matryoshka: the first 8 columns, renormalised.
  EmbedOptions d8 = all;
  d8.dims = 8;
  const std::vector<float> t = e->embed(kTexts, d8);
  ASSERT_EQ(t.size(), kTexts.size() * 8);
  const std::vector<float> raw = [&] {
    EmbedderOptions o;
    o.normalize = 0;
    return Embedder::load(dir, o)->embed(kTexts, all);
  }();
  for (size_t i = 0; i < kTexts.size(); ++i) {
    double n = 0;
    for (int j = 0; j < 8; ++j) n += double(raw[i * 16 + j]) * raw[i * 16 + j];
    for (int j = 0; j < 8; ++j) EXPECT_NEAR(t[i * 8 + j], raw[i * 16 + j] / std::sqrt(n), 1e-5);
  }
  d8.dims = 17;
  EXPECT_THROW(e->embed(kTexts, d8), InputError);

  // Truncation: a long text is cut to max_length tokens.
  const std::vector<int64_t> n = e->token_counts({std::string(400, 'x') + " " + std::string(50, 'a') + " b c d e f g h i j k l m n o p q r s t u v w x y z a b c d e f g h i j k l m n o p"});
  EXPECT_EQ(n[0], 40);
}

TEST(Embedder, PromptsByNameOrText) {
  const std::string dir = tiny_bert_folder("embedder_prompt", "mean");
  auto e = Embedder::load(dir);
  EXPECT_EQ(e->resolve_prompt("query"), "Represent this query: ");
  EXPECT_EQ(e->resolve_prompt("query: "), "query: ");
  EXPECT_EQ(e->resolve_prompt(""), "");
  EmbedOptions named;
  named.prompt = "query";
  EmbedOptions literal;
  literal.prompt = "Represent this query: ";
  const std::vector<float> a = e->embed(kTexts, named), b = e->embed(kTexts, literal), c = e->embed(kTexts);
  EXPECT_EQ(max_abs_diff(a, b), 0.0);
  EXPECT_GT(max_abs_diff(a, c), 1e-3);
  // Per-text prompts in one training-API batch equal separate calls.
  const float* y = e->forward({"grep finds lines", "grep finds lines"}, {"query", ""}, 0, false);
  const std::vector<float> both(y, y + 32);
  const std::vector<float> q = e->embed({"grep finds lines"}, named), p = e->embed({"grep finds lines"});
  for (int j = 0; j < 16; ++j) {
    EXPECT_NEAR(both[j], q[j], 1e-5);
    EXPECT_NEAR(both[16 + j], p[j], 1e-5);
  }
}

TEST(Embedder, IncludePromptFalseLeavesPromptOutOfTheMean) {
  const std::string dir = tiny_bert_folder("embedder_noprompt", "mean", /*include_prompt=*/false);
  EmbedderOptions o;
  o.normalize = 0;
  auto e = Embedder::load(dir, o);
  const std::string prompt = "Represent this query: ";
  // Mean over the token states after the prompt, from the encoder directly.
  const Encoding enc = encode(e->tokenizer(), prompt + "grep finds lines", std::nullopt);
  EncodeOptions no_special;
  no_special.add_special = false;
  const size_t skip = 1 + encode(e->tokenizer(), prompt, std::nullopt, no_special).size();  // [CLS] + prompt
  EncoderBatch eb;
  eb.B = 1;
  eb.T = static_cast<int64_t>(enc.ids.size());
  eb.tokens = enc.ids;
  const float* h = e->encoder()->forward(eb, false);
  std::vector<double> want(16, 0.0);
  for (int64_t t = static_cast<int64_t>(skip); t < eb.T; ++t)
    for (int j = 0; j < 16; ++j) want[j] += h[t * 16 + j] / double(eb.T - skip);
  EmbedOptions q;
  q.prompt = "query";
  const std::vector<float> got = e->embed({"grep finds lines", "x"}, q);
  for (int j = 0; j < 16; ++j) EXPECT_NEAR(got[j], want[j], 1e-5);
}

TEST(Embedder, TrainingBackwardMatchesFiniteDifferences) {
  // float: directional derivative along a random direction of every LoRA
  // tensor, central differences with a step large enough for float.
  for (const char* path : {"bert", "decoder"}) {
    SCOPED_TRACE(path);
    const std::string model =
        std::string(path) == "bert" ? tiny_bert_folder("embedder_grad", "mean") : shared_path("models/stories260K.gguf");
    auto e = Embedder::load(model);
    AdapterConfig ac;
    ac.rank = 4;
    ac.alpha = 8;
    ac.targets = {"all-linear"};
    auto setup = e->setup_method("lora", ac);
    // Non-zero B so that every tensor has a gradient through the adapter.
    Rng rng(9);
    e->visit_trainable([&](ParamRef<float>& p) {
      for (int64_t i = 0; i < p.numel; ++i) p.data[i] += static_cast<float>(0.05 * rng.normal());
    });
    const std::vector<std::string> texts = {"grep finds lines", "tar", "a longer text about manual pages"};
    const std::vector<std::string> prompts = {"query: ", "", ""};
    const int64_t dims = e->dim() / 2;
    std::vector<float> r(texts.size() * dims);
    for (float& x : r) x = static_cast<float>(rng.normal());
    auto loss = [&] {
      const float* y = e->forward(texts, prompts, dims, false);
      double s = 0;
      for (size_t i = 0; i < r.size(); ++i) s += double(r[i]) * y[i];
      return s;
    };
    e->zero_grad();
    e->forward(texts, prompts, dims, true);
    EXPECT_GT(e->last_tokens(), 6);
    e->backward(r.data());
    std::vector<std::vector<float>> dir;
    double analytic = 0;
    e->visit_trainable([&](ParamRef<float>& p) {
      std::vector<float> d(p.numel);
      for (int64_t i = 0; i < p.numel; ++i) {
        d[i] = static_cast<float>(rng.normal());
        analytic += double(d[i]) * p.grad[i];
      }
      dir.push_back(std::move(d));
    });
    auto shift = [&](double h) {
      size_t k = 0;
      e->visit_trainable([&](ParamRef<float>& p) {
        for (int64_t i = 0; i < p.numel; ++i) p.data[i] += static_cast<float>(h * dir[k][i]);
        ++k;
      });
    };
    const double h = 1e-3;
    shift(h);
    const double lp = loss();
    shift(-2 * h);
    const double lm = loss();
    shift(h);
    const double fd = (lp - lm) / (2 * h);
    EXPECT_NEAR(analytic, fd, 2e-2 * std::fabs(fd) + 1e-3) << "analytic " << analytic << " fd " << fd;
  }
}

TEST(Embedder, EncoderAdapterSavesUnderPeftNamesAndLoadsBack) {
  const std::string dir = tiny_bert_folder("embedder_adapter", "cls");
  auto e = Embedder::load(dir);
  AdapterConfig ac;
  ac.rank = 2;
  ac.alpha = 4;
  ac.targets = {"q", "v", "o", "up", "down"};
  auto setup = e->setup_method("lora", ac);
  EXPECT_EQ(setup->layers.size(), 10u);
  Rng rng(2);
  e->visit_trainable([&](ParamRef<float>& p) {
    for (int64_t i = 0; i < p.numel; ++i) p.data[i] += static_cast<float>(0.1 * rng.normal());
  });
  const std::vector<float> want = e->embed(kTexts);
  const std::string ad = temp_dir("embedder_adapter_out") + "/adapter";
  e->save_adapter(ad, *setup);

  PeftAdapter f = PeftAdapter::open(ad);
  EXPECT_EQ(f.config().task_type, "FEATURE_EXTRACTION");
  const std::vector<std::string> targets = f.config().target_modules;
  EXPECT_EQ(targets, (std::vector<std::string>{"dense", "query", "value"}));
  for (const char* key : {"base_model.model.encoder.layer.0.attention.self.query.lora_A.weight",
                          "base_model.model.encoder.layer.1.attention.self.value.lora_B.weight",
                          "base_model.model.encoder.layer.0.attention.output.dense.lora_A.weight",
                          "base_model.model.encoder.layer.1.intermediate.dense.lora_B.weight",
                          "base_model.model.encoder.layer.1.output.dense.lora_A.weight"})
    EXPECT_TRUE(f.has(key)) << key;
  EXPECT_EQ(f.shape("base_model.model.encoder.layer.1.intermediate.dense.lora_B.weight"), (Shape{24, 2}));
  EXPECT_EQ(f.keys().size(), 20u);

  EmbedderOptions o;
  o.adapter = ad;
  auto back = Embedder::load(dir, o);
  EXPECT_LE(max_abs_diff(back->embed(kTexts), want), 1e-6);
  EXPECT_GT(max_abs_diff(Embedder::load(dir)->embed(kTexts), want), 1e-3);  // the adapter matters
}

TEST(Embedder, BadInputFailsWithOneLine) {
  const std::string d = temp_dir("embedder_bad");
  EXPECT_THROW(Embedder::load(d + "/missing"), InputError);
  EXPECT_THROW(Embedder::load(d), InputError);  // an empty folder is no embedding model
  write_file(d + "/notes.txt", "hello");
  EXPECT_THROW(Embedder::load(d + "/notes.txt"), InputError);
  EmbedderOptions o;
  o.max_length = 100000;
  EXPECT_THROW(Embedder::load(shared_path("models/stories260K.gguf"), o), InputError);
  o.max_length = 0;
  o.pooling = "max";
  EXPECT_THROW(Embedder::load(shared_path("models/stories260K.gguf"), o), InputError);
}

TEST(Embedder, MergeWritesASentenceTransformersFolderThatReloadsTheSame) {
  const std::string dir = tiny_bert_folder("embedder_merge", "mean");
  auto e = Embedder::load(dir);
  AdapterConfig ac;
  ac.rank = 2;
  ac.alpha = 4;
  ac.targets = {"all-linear"};
  auto setup = e->setup_method("lora", ac);
  Rng rng(4);
  e->visit_trainable([&](ParamRef<float>& p) {
    for (int64_t i = 0; i < p.numel; ++i) p.data[i] += static_cast<float>(0.1 * rng.normal());
  });
  EmbedOptions q;
  q.prompt = "query";
  const std::vector<float> want = e->embed(kTexts, q);
  const std::string out = temp_dir("embedder_merge_out");
  e->save_adapter(out + "/adapter", *setup);

  // `peft merge` of the encoder folder and the adapter.
  CliResult r = run_cli({"merge", "--model", dir, "--adapter", out + "/adapter", "--out", out + "/merged"});
  ASSERT_EQ(r.rc, 0) << r.err;
  const std::string m = out + "/merged";
  for (const char* f : {"config.json", "model.safetensors", "tokenizer.json", "modules.json", "1_Pooling/config.json",
                        "sentence_bert_config.json", "config_sentence_transformers.json"})
    EXPECT_TRUE(fs::exists(m + "/" + f)) << f;
  EXPECT_TRUE(fs::is_directory(m + "/2_Normalize"));
  const auto modules = nlohmann::json::parse(read_file(m + "/modules.json"));
  ASSERT_EQ(modules.size(), 3u);
  EXPECT_EQ(modules[0]["path"], "");
  EXPECT_EQ(modules[0]["type"], "sentence_transformers.models.Transformer");
  EXPECT_EQ(modules[1]["type"], "sentence_transformers.models.Pooling");
  EXPECT_EQ(modules[2]["type"], "sentence_transformers.models.Normalize");
  const auto pool = nlohmann::json::parse(read_file(m + "/1_Pooling/config.json"));
  EXPECT_EQ(pool["pooling_mode_mean_tokens"], true);
  EXPECT_EQ(pool["pooling_mode_cls_token"], false);
  EXPECT_EQ(pool["word_embedding_dimension"], 16);
  EXPECT_EQ(nlohmann::json::parse(read_file(m + "/sentence_bert_config.json"))["max_seq_length"], 40);
  EXPECT_EQ(nlohmann::json::parse(read_file(m + "/config_sentence_transformers.json"))["prompts"]["query"],
            "Represent this query: ");
  EXPECT_EQ(read_file(m + "/tokenizer.json"), read_file(dir + "/tokenizer.json"));

  // transformers' BertModel state-dict names and [out, in] shapes, exactly.
  auto st = SafetensorsFile::open(m + "/model.safetensors");
  std::map<std::string, Shape> expect = {
      {"embeddings.word_embeddings.weight", {30522, 16}}, {"embeddings.position_embeddings.weight", {64, 16}},
      {"embeddings.token_type_embeddings.weight", {2, 16}}, {"embeddings.LayerNorm.weight", {16}},
      {"embeddings.LayerNorm.bias", {16}}};
  for (int l = 0; l < 2; ++l) {
    const std::string p = "encoder.layer." + std::to_string(l) + ".";
    for (const char* s : {"attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"}) {
      expect[p + s + ".weight"] = {16, 16};
      expect[p + s + ".bias"] = {16};
    }
    expect[p + "intermediate.dense.weight"] = {24, 16};
    expect[p + "intermediate.dense.bias"] = {24};
    expect[p + "output.dense.weight"] = {16, 24};
    expect[p + "output.dense.bias"] = {16};
    for (const char* s : {"attention.output.LayerNorm", "output.LayerNorm"}) {
      expect[p + s + ".weight"] = {16};
      expect[p + s + ".bias"] = {16};
    }
  }
  std::vector<std::string> names = st->names();
  EXPECT_EQ(names.size(), expect.size());
  for (const auto& [name, shape] : expect) {
    ASSERT_TRUE(st->has(name)) << name;
    EXPECT_EQ(st->shape(name), shape) << name;
  }

  // Reloaded by our loader, with no adapter: the same embeddings.
  auto back = Embedder::load(m);
  EXPECT_EQ(back->info().pooling, ops::PoolMode::Mean);
  EXPECT_TRUE(back->info().normalize);
  EXPECT_LE(max_abs_diff(back->embed(kTexts, q), want), 1e-5);
  // The source embedder kept its unmerged adapters: still the same output.
  EXPECT_LE(max_abs_diff(e->embed(kTexts, q), want), 1e-6);
  // And the library path (adapters in the slots, merged on save) writes the same weights.
  save_sentence_transformers(*e, out + "/direct");
  EXPECT_LE(max_abs_diff(Embedder::load(out + "/direct")->embed(kTexts, q), want), 1e-5);
}
