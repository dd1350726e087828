// Hugging Face model directories: loading, saving, and conversion to and from
// GGUF (issue 3 parts 4-5).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "core/dtype.h"
#include "core/error.h"
#include "io/gguf.h"
#include "io/safetensors.h"
#include "model/hf_config.h"
#include "model/hf_load.h"
#include "model/llama.h"
#include "test_util.h"
#include "tokenizer/load.h"
#include "train/convert.h"
#include "train/pretrained.h"

namespace fs = std::filesystem;
using namespace peft;
using peft::test::read_file;
using peft::test::run_cli;
using peft::test::shared_path;
using peft::test::temp_dir;
using peft::test::write_file;

namespace {

std::string stories() { return shared_path("models/stories260K.gguf"); }

// The text of an InputError thrown by f, or "" when nothing was thrown.
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

// Logits of every position, fed one token at a time through the KV cache.
template <typename T>
std::vector<std::vector<T>> stepwise_logits(LlamaModel<T>& m, const std::vector<int32_t>& ids) {
  auto cache = m.make_cache(static_cast<int64_t>(ids.size()));
  std::vector<std::vector<T>> all;
  for (int32_t id : ids) {
    std::vector<T> logits(m.cfg.vocab_size);
    m.forward_cached(cache, &id, 1, logits.data());
    all.push_back(logits);
  }
  return all;
}

Batch one_row_batch(const std::vector<int32_t>& ids) {
  Batch b;
  b.B = 1;
  b.T = static_cast<int64_t>(ids.size()) - 1;
  b.tokens.assign(ids.begin(), ids.end() - 1);
  b.targets.assign(ids.begin() + 1, ids.end());
  for (int64_t t = 0; t < b.T; ++t) b.positions.push_back(static_cast<int32_t>(t));
  return b;
}

// One conversion of stories260K shared by the tests below.
const std::string& converted_dir() {
  static const std::string dir = [] {
    std::string d = temp_dir("hf_stories") + "/stories260K-hf";
    convert_model(stories(), d);
    return d;
  }();
  return dir;
}

std::vector<int32_t> story_ids(const Tokenizer& tok, size_t max_tokens) {
  std::vector<int32_t> ids = tok.encode(read_file(shared_path("golden/story_sample.txt")), true);
  if (ids.size() > max_tokens) ids.resize(max_tokens);
  return ids;
}

}  // namespace

TEST(HfModel, TensorNames) {
  EXPECT_EQ(hf_tensor_name("token_embd.weight"), "model.embed_tokens.weight");
  EXPECT_EQ(hf_tensor_name("blk.12.attn_q.bias"), "model.layers.12.self_attn.q_proj.bias");
  EXPECT_EQ(hf_tensor_name("blk.0.attn_output.weight"), "model.layers.0.self_attn.o_proj.weight");
  EXPECT_EQ(hf_tensor_name("blk.3.attn_k_norm.weight"), "model.layers.3.self_attn.k_norm.weight");
  EXPECT_EQ(hf_tensor_name("blk.1.ffn_norm.weight"), "model.layers.1.post_attention_layernorm.weight");
  EXPECT_EQ(hf_tensor_name("blk.1.ffn_down.weight"), "model.layers.1.mlp.down_proj.weight");
  EXPECT_EQ(hf_tensor_name("output_norm.weight"), "model.norm.weight");
  EXPECT_EQ(hf_tensor_name("output.weight"), "lm_head.weight");
  EXPECT_THROW(hf_tensor_name("blk.x.attn_q.weight"), InputError);
  EXPECT_THROW(hf_tensor_name("blk.1.attn_qq.weight"), InputError);
}

TEST(HfModel, StoriesConvertedGivesSameLogits) {
  auto gguf = GgufFile::open(stories());
  auto ref = load_llama_gguf<float>(*gguf);
  auto tok = load_gguf_tokenizer(*gguf);
  auto hf = load_llama_hf<float>(converted_dir());
  EXPECT_EQ(hf->cfg.rope_style, ops::RopeStyle::Half);
  EXPECT_EQ(hf->cfg.dim, ref->cfg.dim);
  EXPECT_EQ(hf->cfg.n_kv_heads, ref->cfg.n_kv_heads);
  EXPECT_EQ(hf->cfg.tied_embeddings, ref->cfg.tied_embeddings);
  EXPECT_DOUBLE_EQ(hf->cfg.norm_eps, static_cast<double>(static_cast<float>(ref->cfg.norm_eps)));

  std::vector<int32_t> ids = story_ids(*tok, 96);
  ASSERT_GT(ids.size(), 50u);
  // The last token's logits after the whole prompt, as generation sees them.
  auto last_logits = [&](LlamaModel<float>& m) {
    auto cache = m.make_cache(static_cast<int64_t>(ids.size()));
    std::vector<float> logits(m.cfg.vocab_size);
    m.forward_cached(cache, ids.data(), static_cast<int64_t>(ids.size()), logits.data());
    return logits;
  };
  std::vector<float> la = last_logits(*ref), lb = last_logits(*hf);
  double max_diff = 0;
  for (size_t v = 0; v < la.size(); ++v) max_diff = std::max(max_diff, std::fabs(double(la[v]) - lb[v]));
  EXPECT_LE(max_diff, 1e-5);
  // Every position, one token at a time through the cache. The two layouts
  // sum q·k over a head in different orders, so f32 results differ by
  // rounding that grows through the layers (bounded here at 2e-6 of the
  // largest logit, about 17 f32 epsilons); in double they agree to 1e-10,
  // which shows the conversion itself is exact.
  auto a = stepwise_logits(*ref, ids);
  auto b = stepwise_logits(*hf, ids);
  double max_step = 0, max_abs = 0;
  for (size_t t = 0; t < a.size(); ++t)
    for (size_t v = 0; v < a[t].size(); ++v) {
      max_step = std::max(max_step, std::fabs(double(a[t][v]) - b[t][v]));
      max_abs = std::max(max_abs, std::fabs(double(a[t][v])));
    }
  std::printf("max |logit| %.3f, last-token diff %.3g, all-position diff %.3g\n", max_abs, max_diff, max_step);
  EXPECT_LE(max_step, 2e-6 * max_abs);
  auto ref64 = load_llama_gguf<double>(*gguf);
  auto hf64 = load_llama_hf<double>(converted_dir());
  auto a64 = stepwise_logits(*ref64, ids);
  auto b64 = stepwise_logits(*hf64, ids);
  double max64 = 0;
  for (size_t t = 0; t < a64.size(); ++t)
    for (size_t v = 0; v < a64[t].size(); ++v) max64 = std::max(max64, std::fabs(a64[t][v] - b64[t][v]));
  EXPECT_LE(max64, 1e-10);

  Batch batch = one_row_batch(ids);
  EXPECT_NEAR(ref->forward_loss(batch), hf->forward_loss(batch), 1e-4);
}

TEST(HfModel, StoriesConvertedTokenizerMatchesGguf) {
  auto gguf = GgufFile::open(stories());
  auto ref = load_gguf_tokenizer(*gguf);
  auto hf = load_tokenizer(converted_dir());
  EXPECT_EQ(hf->vocab_size(), ref->vocab_size());
  EXPECT_EQ(hf->bos_id(), ref->bos_id());
  EXPECT_EQ(hf->eos_id(), ref->eos_id());
  EXPECT_EQ(hf->adds_bos(), ref->adds_bos());
  std::string shakespeare = read_file(shared_path("data/tinyshakespeare/input.txt")).substr(0, 5000);
  for (const std::string& text : {read_file(shared_path("golden/story_sample.txt")), shakespeare,
                                  std::string("  two  spaces, tabs\tand ünïcödé ✓ 🙂\n")}) {
    std::vector<int32_t> want = ref->encode(text, true);
    std::vector<int32_t> got = hf->encode(text, true);
    EXPECT_EQ(got, want) << text.substr(0, 40);
    EXPECT_EQ(hf->decode(got), ref->decode(want));
  }
}

TEST(HfModel, StoriesRoundTripBackToGgufIsBitIdentical) {
  std::string back = temp_dir("hf_back") + "/back.gguf";
  ConvertReport r = convert_model(converted_dir(), back);
  EXPECT_EQ(r.from, "hf");
  EXPECT_EQ(r.to, "gguf");
  EXPECT_TRUE(r.tokenizer_written);
  auto a = GgufFile::open(stories());
  auto b = GgufFile::open(back);
  ASSERT_EQ(a->tensors().size(), b->tensors().size());
  for (const GgufTensorInfo& t : a->tensors()) {
    ASSERT_EQ(t.dtype, DType::F32) << t.name;  // so the comparison below is bit-exact
    const GgufTensorInfo* u = b->find_tensor(t.name);
    ASSERT_NE(u, nullptr) << t.name;
    EXPECT_EQ(u->shape, t.shape) << t.name;
    EXPECT_EQ(u->dtype, t.dtype) << t.name;
    Tensor x = a->tensor(t.name), y = b->tensor(t.name);
    EXPECT_EQ(std::memcmp(x.data(), y.data(), t.nbytes), 0) << t.name;
  }
  for (const char* k : {"llama.embedding_length", "llama.block_count", "llama.feed_forward_length",
                        "llama.attention.head_count", "llama.attention.head_count_kv", "llama.context_length"})
    EXPECT_EQ(b->get_int(k), a->get_int(k)) << k;
  EXPECT_EQ(b->get_float("llama.rope.freq_base"), a->get_float("llama.rope.freq_base", 10000.0));
  EXPECT_EQ(b->get_float("llama.attention.layer_norm_rms_epsilon"),
            a->get_float("llama.attention.layer_norm_rms_epsilon"));
  // The vocabulary came back through tokenizer.json and still segments alike.
  EXPECT_EQ(b->get_string_array("tokenizer.ggml.tokens"), a->get_string_array("tokenizer.ggml.tokens"));
  auto ta = load_gguf_tokenizer(*a), tb = load_gguf_tokenizer(*b);
  std::string text = read_file(shared_path("data/tinyshakespeare/input.txt")).substr(0, 5000);
  EXPECT_EQ(tb->encode(text, true), ta->encode(text, true));
}

TEST(HfModel, LoadPretrainedDirectory) {
  Pretrained p = load_pretrained(converted_dir());
  EXPECT_EQ(p.format, "hf");
  ASSERT_TRUE(p.model && p.tokenizer);
  EXPECT_EQ(p.model->cfg.vocab_size, 512);
  EXPECT_EQ(p.gguf, nullptr);
}

TEST(HfModel, CliGenerateFromConvertedDirectoryMatchesGguf) {
  std::string dir = temp_dir("hf_cli") + "/out";
  auto c = run_cli({"convert", "--model", stories(), "--out", dir});
  ASSERT_EQ(c.rc, 0) << c.err;
  EXPECT_TRUE(fs::exists(dir + "/config.json"));
  EXPECT_TRUE(fs::exists(dir + "/model.safetensors"));
  EXPECT_TRUE(fs::exists(dir + "/tokenizer.json"));
  auto want = run_cli({"generate", "--model", stories(), "--temperature", "0", "--max-tokens", "64"});
  auto got = run_cli({"generate", "--model", dir, "--temperature", "0", "--max-tokens", "64"});
  ASSERT_EQ(want.rc, 0) << want.err;
  ASSERT_EQ(got.rc, 0) << got.err;
  EXPECT_GT(want.out.size(), 100u);
  EXPECT_EQ(got.out, want.out);

  std::string back = temp_dir("hf_cli_back") + "/m.gguf";
  auto c2 = run_cli({"convert", "--model", dir, "--out", back});
  ASSERT_EQ(c2.rc, 0) << c2.err;
  auto again = run_cli({"generate", "--model", back, "--temperature", "0", "--max-tokens", "64"});
  EXPECT_EQ(again.out, want.out);

  auto missing = run_cli({"convert", "--model", dir + "/nope", "--out", back});
  EXPECT_EQ(missing.rc, 2);

  // info and perplexity take the directory too.
  auto info = run_cli({"info", dir, "--json"});
  ASSERT_EQ(info.rc, 0) << info.err;
  auto ij = nlohmann::json::parse(info.out);
  EXPECT_EQ(ij["format"], "hf");
  EXPECT_EQ(ij["config"]["vocab"], 512);
  EXPECT_EQ(ij["tensor_types"]["F32"], ij["tensors"]);
  const std::string text = shared_path("golden/story_sample.txt");
  auto pg = run_cli({"perplexity", "--model", stories(), "--data", text, "--json"});
  auto ph = run_cli({"perplexity", "--model", dir, "--data", text, "--json"});
  ASSERT_EQ(pg.rc, 0) << pg.err;
  ASSERT_EQ(ph.rc, 0) << ph.err;
  auto jg = nlohmann::json::parse(pg.out), jh = nlohmann::json::parse(ph.out);
  EXPECT_EQ(jh["tokens"], jg["tokens"]);
  EXPECT_NEAR(jh["mean_nll"].get<double>(), jg["mean_nll"].get<double>(), 1e-5);
}

// ---------------------------------------------------------------------------
// Small random models written by hand as HF directories, one per family option.

namespace {

struct Variant {
  std::string model_type = "llama";
  int64_t vocab = 67, dim = 32, hidden = 48, layers = 2, heads = 4, kv_heads = 2, head_dim = 8;
  bool tie = false;         // tie_word_embeddings
  bool write_lm_head = true;
  std::string extra_json;   // more config.json keys, with a leading comma
  int shards = 1;
  bool bf16 = false;
};

std::string config_text(const Variant& v) {
  return "{\"model_type\": \"" + v.model_type + "\", \"hidden_size\": " + std::to_string(v.dim) +
         ", \"intermediate_size\": " + std::to_string(v.hidden) + ", \"num_hidden_layers\": " +
         std::to_string(v.layers) + ", \"num_attention_heads\": " + std::to_string(v.heads) +
         ", \"num_key_value_heads\": " + std::to_string(v.kv_heads) + ", \"head_dim\": " +
         std::to_string(v.head_dim) + ", \"vocab_size\": " + std::to_string(v.vocab) +
         ", \"rms_norm_eps\": 1e-6, \"tie_word_embeddings\": " + (v.tie ? "true" : "false") + v.extra_json + "}";
}

// transformers' tensor names and shapes for the variant, written out here
// rather than derived from the library's own mapping.
std::map<std::string, Shape> hf_tensors(const Variant& v) {
  std::map<std::string, Shape> t;
  t["model.embed_tokens.weight"] = {v.vocab, v.dim};
  t["model.norm.weight"] = {v.dim};
  if (v.write_lm_head) t["lm_head.weight"] = {v.vocab, v.dim};
  const int64_t q = v.heads * v.head_dim, kv = v.kv_heads * v.head_dim;
  for (int64_t l = 0; l < v.layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    t[p + "input_layernorm.weight"] = {v.dim};
    t[p + "post_attention_layernorm.weight"] = {v.dim};
    t[p + "self_attn.q_proj.weight"] = {q, v.dim};
    t[p + "self_attn.k_proj.weight"] = {kv, v.dim};
    t[p + "self_attn.v_proj.weight"] = {kv, v.dim};
    t[p + "self_attn.o_proj.weight"] = {v.dim, q};
    t[p + "mlp.gate_proj.weight"] = {v.hidden, v.dim};
    t[p + "mlp.up_proj.weight"] = {v.hidden, v.dim};
    t[p + "mlp.down_proj.weight"] = {v.dim, v.hidden};
    if (v.model_type == "qwen2") {
      t[p + "self_attn.q_proj.bias"] = {q};
      t[p + "self_attn.k_proj.bias"] = {kv};
      t[p + "self_attn.v_proj.bias"] = {kv};
    }
    if (v.model_type == "qwen3") {
      t[p + "self_attn.q_norm.weight"] = {v.head_dim};
      t[p + "self_attn.k_norm.weight"] = {v.head_dim};
    }
  }
  return t;
}

// Random f32 values (norm weights near 1), rounded through bf16 when `bf16`
// so the same numbers can be stored either way.
std::map<std::string, std::vector<float>> random_values(const std::map<std::string, Shape>& shapes, bool round_bf16,
                                                        uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 0.1f);
  std::map<std::string, std::vector<float>> vals;
  for (const auto& [name, shape] : shapes) {
    std::vector<float> x(shape_numel(shape));
    bool norm = name.find("norm") != std::string::npos;
    for (float& f : x) {
      f = norm ? 1.0f + nd(rng) : nd(rng);
      if (round_bf16) f = bf16_to_f32(f32_to_bf16(f));
    }
    vals[name] = x;
  }
  return vals;
}

// Writes config.json and the tensors (F32 or BF16; one file, or `shards`
// files with an index) into a new directory.
std::string write_hf_dir(const Variant& v, const std::map<std::string, std::vector<float>>& vals,
                         const std::string& tag) {
  std::string dir = temp_dir(tag);
  write_file(dir + "/config.json", config_text(v));
  auto shapes = hf_tensors(v);
  std::vector<SafetensorsWriter> writers(v.shards);
  nlohmann::json index;
  index["metadata"] = {{"total_size", 0}};
  size_t i = 0;
  for (const auto& [name, x] : vals) {
    const int s = static_cast<int>(i++ % v.shards);
    Tensor t = Tensor::zeros(DType::F32, shapes.at(name));
    std::memcpy(t.mutable_ptr<float>(), x.data(), x.size() * sizeof(float));
    writers[s].add(name, v.bf16 ? t.to(DType::BF16) : t);
    char file[64];
    std::snprintf(file, sizeof file, "model-%05d-of-%05d.safetensors", s + 1, v.shards);
    index["weight_map"][name] = file;
  }
  if (v.shards == 1) {
    writers[0].write(dir + "/model.safetensors");
  } else {
    for (int s = 0; s < v.shards; ++s) {
      char file[64];
      std::snprintf(file, sizeof file, "/model-%05d-of-%05d.safetensors", s + 1, v.shards);
      writers[s].write(dir + file);
    }
    write_file(dir + "/model.safetensors.index.json", index.dump(2));
  }
  return dir;
}

std::vector<int32_t> some_tokens(int64_t vocab, size_t n) {
  std::vector<int32_t> ids;
  for (size_t i = 0; i < n; ++i) ids.push_back(static_cast<int32_t>((i * 37 + 5) % vocab));
  return ids;
}

bool same_values(const Param<float>& p, const std::vector<float>& want) {
  return p.numel() == static_cast<int64_t>(want.size()) &&
         std::memcmp(p.data.get(), want.data(), want.size() * sizeof(float)) == 0;
}

// Loads the directory and checks that every tensor landed in its slot and
// that the model runs.
std::unique_ptr<LlamaModel<float>> load_and_check(const Variant& v, const std::map<std::string, std::vector<float>>& vals,
                                                  const std::string& dir) {
  auto m = load_llama_hf<float>(dir);
  EXPECT_EQ(m->cfg.arch, v.model_type);
  EXPECT_EQ(m->cfg.rope_style, ops::RopeStyle::Half);
  EXPECT_TRUE(same_values(m->tok_embd, vals.at("model.embed_tokens.weight")));
  EXPECT_TRUE(same_values(m->out_norm, vals.at("model.norm.weight")));
  const bool tied = v.tie || !v.write_lm_head;
  EXPECT_EQ(m->output.empty(), tied);
  if (!tied) {
    EXPECT_TRUE(same_values(m->output, vals.at("lm_head.weight")));
  }
  for (int64_t l = 0; l < v.layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    auto& L = m->layers[l];
    EXPECT_TRUE(same_values(L.attn_norm, vals.at(p + "input_layernorm.weight")));
    EXPECT_TRUE(same_values(L.ffn_norm, vals.at(p + "post_attention_layernorm.weight")));
    EXPECT_TRUE(same_values(L.wq.weight, vals.at(p + "self_attn.q_proj.weight")));
    EXPECT_TRUE(same_values(L.wk.weight, vals.at(p + "self_attn.k_proj.weight")));
    EXPECT_TRUE(same_values(L.wv.weight, vals.at(p + "self_attn.v_proj.weight")));
    EXPECT_TRUE(same_values(L.wo.weight, vals.at(p + "self_attn.o_proj.weight")));
    EXPECT_TRUE(same_values(L.w_gate.weight, vals.at(p + "mlp.gate_proj.weight")));
    EXPECT_TRUE(same_values(L.w_up.weight, vals.at(p + "mlp.up_proj.weight")));
    EXPECT_TRUE(same_values(L.w_down.weight, vals.at(p + "mlp.down_proj.weight")));
    if (v.model_type == "qwen2") {
      EXPECT_TRUE(same_values(L.wq.bias, vals.at(p + "self_attn.q_proj.bias")));
      EXPECT_TRUE(same_values(L.wk.bias, vals.at(p + "self_attn.k_proj.bias")));
      EXPECT_TRUE(same_values(L.wv.bias, vals.at(p + "self_attn.v_proj.bias")));
    }
    if (v.model_type == "qwen3") {
      EXPECT_TRUE(same_values(L.q_norm, vals.at(p + "self_attn.q_norm.weight")));
      EXPECT_TRUE(same_values(L.k_norm, vals.at(p + "self_attn.k_norm.weight")));
    }
  }
  double loss = m->forward_loss(one_row_batch(some_tokens(v.vocab, 24)));
  EXPECT_TRUE(std::isfinite(loss));
  EXPECT_GT(loss, 0.0);
  return m;
}

void check_variant(const Variant& v, const std::string& tag) {
  SCOPED_TRACE(tag);
  auto vals = random_values(hf_tensors(v), false, 7);
  std::string dir = write_hf_dir(v, vals, tag);
  auto m = load_and_check(v, vals, dir);
  // save_llama_hf writes a directory that reloads to the same model.
  std::string again = temp_dir(tag + "_saved");
  save_llama_hf(*m, again);
  auto m2 = load_llama_hf<float>(again);
  EXPECT_EQ(m2->cfg.describe(), m->cfg.describe());
  EXPECT_EQ(m2->cfg.rope_scaling.type, m->cfg.rope_scaling.type);
  EXPECT_EQ(m2->cfg.qkv_bias, m->cfg.qkv_bias);
  EXPECT_EQ(m2->cfg.qk_norm, m->cfg.qk_norm);
  auto p1 = m->base_params(), p2 = m2->base_params();
  ASSERT_EQ(p1.size(), p2.size());
  for (size_t i = 0; i < p1.size(); ++i) {
    EXPECT_EQ(p1[i]->name, p2[i]->name);
    EXPECT_TRUE(p1[i]->numel() == p2[i]->numel() &&
                std::memcmp(p1[i]->data.get(), p2[i]->data.get(), p1[i]->numel() * sizeof(float)) == 0)
        << p1[i]->name;
  }
}

}  // namespace

TEST(HfModel, FamilyLlama) { check_variant(Variant{}, "llama"); }

TEST(HfModel, FamilyQwen2Biases) {
  Variant v;
  v.model_type = "qwen2";
  check_variant(v, "qwen2");
}

TEST(HfModel, FamilyQwen3QkNorm) {
  Variant v;
  v.model_type = "qwen3";
  v.head_dim = 16;  // head_dim != hidden / heads, as in Qwen3
  check_variant(v, "qwen3");
}

TEST(HfModel, FamilyMistral) {
  Variant v;
  v.model_type = "mistral";
  check_variant(v, "mistral");
}

TEST(HfModel, TiedEmbeddings) {
  Variant v;
  v.tie = true;
  v.write_lm_head = false;
  check_variant(v, "tied");
  // No lm_head.weight with tie_word_embeddings false still ties (as
  // checkpoints saved with a tied head omit it).
  Variant w;
  w.write_lm_head = false;
  check_variant(w, "tied_implicit");
}

TEST(HfModel, Llama3RopeScaling) {
  Variant v;
  v.extra_json =
      ", \"rope_theta\": 500000.0, \"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 32.0, "
      "\"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0, \"original_max_position_embeddings\": 8}";
  auto vals = random_values(hf_tensors(v), false, 11);
  std::string dir = write_hf_dir(v, vals, "llama3rope");
  auto m = load_and_check(v, vals, dir);
  EXPECT_EQ(m->cfg.rope_scaling.type, "llama3");
  EXPECT_DOUBLE_EQ(m->cfg.rope_scaling.factor, 32.0);
  EXPECT_EQ(m->cfg.rope_scaling.original_max_position, 8);
  // Scaling changes the model's output for positions past the original window.
  Variant plain = v;
  plain.extra_json = ", \"rope_theta\": 500000.0";
  std::string dir2 = write_hf_dir(plain, vals, "llama3rope_plain");
  auto m2 = load_llama_hf<float>(dir2);
  Batch b = one_row_batch(some_tokens(v.vocab, 40));
  EXPECT_NE(m->forward_loss(b), m2->forward_loss(b));
  check_variant(v, "llama3rope_save");
}

TEST(HfModel, ThreeShardsWithIndex) {
  Variant v;
  v.shards = 3;
  auto vals = random_values(hf_tensors(v), false, 13);
  std::string dir = write_hf_dir(v, vals, "sharded");
  ASSERT_TRUE(fs::exists(dir + "/model-00003-of-00003.safetensors"));
  ASSERT_FALSE(fs::exists(dir + "/model.safetensors"));
  load_and_check(v, vals, dir);
}

TEST(HfModel, Bf16WeightsEqualTheF32RoundedModel) {
  Variant v;
  v.model_type = "qwen2";
  auto vals = random_values(hf_tensors(v), true, 17);  // values exactly representable in bf16
  Variant f32 = v;
  v.bf16 = true;
  v.shards = 2;
  std::string dir_bf16 = write_hf_dir(v, vals, "bf16");
  std::string dir_f32 = write_hf_dir(f32, vals, "bf16_as_f32");
  auto a = load_and_check(v, vals, dir_bf16);
  auto b = load_llama_hf<float>(dir_f32);
  Batch batch = one_row_batch(some_tokens(v.vocab, 30));
  EXPECT_EQ(a->forward_loss(batch), b->forward_loss(batch));
}

TEST(HfModel, RopeLayoutRoundTripKeepsTheFunction) {
  Variant v;
  auto vals = random_values(hf_tensors(v), false, 19);
  auto m = load_llama_hf<float>(write_hf_dir(v, vals, "layout"));
  Batch batch = one_row_batch(some_tokens(v.vocab, 20));
  double before = m->forward_loss(batch);
  set_rope_layout(*m, ops::RopeStyle::Interleaved);
  EXPECT_EQ(m->cfg.rope_style, ops::RopeStyle::Interleaved);
  EXPECT_FALSE(same_values(m->layers[0].wq.weight, vals.at("model.layers.0.self_attn.q_proj.weight")));
  EXPECT_NEAR(m->forward_loss(batch), before, 1e-4);
  set_rope_layout(*m, ops::RopeStyle::Half);
  EXPECT_TRUE(same_values(m->layers[0].wq.weight, vals.at("model.layers.0.self_attn.q_proj.weight")));
  EXPECT_TRUE(same_values(m->layers[1].wk.weight, vals.at("model.layers.1.self_attn.k_proj.weight")));
}

// ---------------------------------------------------------------------------
// Malformed directories.

TEST(HfModel, ErrorsNameTheFileAndProblem) {
  Variant v;
  auto vals = random_values(hf_tensors(v), false, 23);

  std::string no_config = write_hf_dir(v, vals, "err_noconfig");
  fs::remove(no_config + "/config.json");
  std::string e = error_of([&] { load_llama_hf<float>(no_config); });
  EXPECT_NE(e.find("config.json"), std::string::npos) << e;
  EXPECT_NE(e.find(no_config), std::string::npos) << e;
  e = error_of([&] { load_pretrained(no_config); });
  EXPECT_NE(e.find("config.json"), std::string::npos) << e;

  auto missing = vals;
  missing.erase("model.layers.1.mlp.up_proj.weight");
  std::string d = write_hf_dir(v, missing, "err_missing");
  e = error_of([&] { load_llama_hf<float>(d); });
  EXPECT_EQ(e.rfind("[model] ", 0), 0u) << e;
  EXPECT_NE(e.find("model.layers.1.mlp.up_proj.weight"), std::string::npos) << e;
  EXPECT_NE(e.find("missing"), std::string::npos) << e;

  Variant wrong = v;
  wrong.hidden = 40;  // the tensors say 40, config.json will say 48
  std::string d2 = write_hf_dir(wrong, random_values(hf_tensors(wrong), false, 1), "err_shape");
  write_file(d2 + "/config.json", config_text(v));
  e = error_of([&] { load_llama_hf<float>(d2); });
  EXPECT_NE(e.find("model.safetensors"), std::string::npos) << e;
  EXPECT_NE(e.find("shape"), std::string::npos) << e;
  EXPECT_NE(e.find("[48, 32]"), std::string::npos) << e;

  std::string no_weights = temp_dir("err_noweights");
  write_file(no_weights + "/config.json", config_text(v));
  e = error_of([&] { load_llama_hf<float>(no_weights); });
  EXPECT_NE(e.find("model.safetensors"), std::string::npos) << e;

  std::string bad_config = write_hf_dir(v, vals, "err_badconfig");
  write_file(bad_config + "/config.json", "{\"model_type\": \"llama\", \"hidden_size\": 32");
  e = error_of([&] { load_llama_hf<float>(bad_config); });
  EXPECT_NE(e.find("config.json"), std::string::npos) << e;

  // A directory without tokenizer.json loads as a model but not as a
  // pretrained model with its tokenizer.
  std::string no_tok = write_hf_dir(v, vals, "err_notok");
  e = error_of([&] { load_pretrained(no_tok); });
  EXPECT_NE(e.find("tokenizer.json"), std::string::npos) << e;

  for (const std::string& dir : {no_config, d, d2, no_tok}) {
    auto r = run_cli({"generate", "--model", dir, "--max-tokens", "2"});
    EXPECT_EQ(r.rc, 2) << dir;
    std::string err = r.err;
    while (!err.empty() && err.back() == '\n') err.pop_back();
    EXPECT_EQ(err.find('\n'), std::string::npos) << err;
  }
}

// Qwen2 and Qwen3 as llama.cpp's GGUF architectures: q/k/v biases and q/k
// norms under llama.cpp's tensor names, rows in HF order (llama.cpp rotates
// Qwen as halves). HF -> GGUF -> load gives the same logits, and GGUF -> HF
// gives back the same weights.
TEST(HfModel, QwenConvertsToGgufWithTheSameLogits) {
  for (const char* type : {"qwen2", "qwen3"}) {
    SCOPED_TRACE(type);
    Variant v;
    v.model_type = type;
    if (v.model_type == "qwen3") v.head_dim = 16;
    auto vals = random_values(hf_tensors(v), false, 41);
    const std::string dir = write_hf_dir(v, vals, std::string("conv_") + type);
    const std::string out = temp_dir(std::string("conv_") + type + "_gguf") + "/m.gguf";
    convert_model(dir, out);
    auto f = GgufFile::open(out);
    EXPECT_EQ(f->get_string("general.architecture"), type);
    const bool qwen2 = v.model_type == "qwen2";
    EXPECT_EQ(f->find_tensor("blk.0.attn_q.bias") != nullptr, qwen2);
    EXPECT_EQ(f->find_tensor("blk.0.attn_v.bias") != nullptr, qwen2);
    EXPECT_EQ(f->find_tensor("blk.0.attn_q_norm.weight") != nullptr, !qwen2);
    EXPECT_EQ(f->find_tensor("blk.0.attn_k_norm.weight") != nullptr, !qwen2);
    auto hf = load_llama_hf<float>(dir);
    auto gg = load_llama_gguf<float>(*f);
    EXPECT_EQ(gg->cfg.arch, type);
    EXPECT_EQ(gg->cfg.qkv_bias, qwen2);
    EXPECT_EQ(gg->cfg.qk_norm, !qwen2);
    EXPECT_EQ(gg->cfg.head_dim, hf->cfg.head_dim);
    const std::vector<int32_t> ids = some_tokens(v.vocab, 12);
    auto a = stepwise_logits(*hf, ids);
    auto b = stepwise_logits(*gg, ids);
    ASSERT_EQ(a.size(), b.size());
    double worst = 0;
    for (size_t t = 0; t < a.size(); ++t)
      for (size_t k = 0; k < a[t].size(); ++k) worst = std::max(worst, std::abs(double(a[t][k]) - double(b[t][k])));
    EXPECT_LT(worst, 1e-5);
    // And back to a Hugging Face directory: the same tensors.
    const std::string back = temp_dir(std::string("conv_") + type + "_back") + "/m";
    convert_model(out, back);
    load_and_check(v, vals, back);
  }
}

// Llama 3 rope scaling as llama.cpp's converter writes it: a rope_freqs.weight
// tensor of per-pair factors (no keys). HF -> GGUF -> load: same logits.
TEST(HfModel, Llama3ScaledConvertsToGgufWithTheSameLogits) {
  Variant r;
  r.extra_json =
      ", \"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8.0, \"low_freq_factor\": 1.0, "
      "\"high_freq_factor\": 4.0, \"original_max_position_embeddings\": 64}";
  auto vals = random_values(hf_tensors(r), false, 31);
  const std::string dir = write_hf_dir(r, vals, "conv_llama3");
  const std::string out = temp_dir("conv_llama3_gguf") + "/m.gguf";
  convert_model(dir, out);
  auto f = GgufFile::open(out);
  const GgufTensorInfo* rf = f->find_tensor("rope_freqs.weight");
  ASSERT_NE(rf, nullptr);
  auto hf = load_llama_hf<float>(dir);
  ASSERT_EQ(rf->shape, (Shape{hf->cfg.head_dim / 2}));
  EXPECT_FALSE(f->has("llama.rope.scaling.type"));
  // Meta's rule by hand for the first and last pair: the fastest rotation
  // (wavelength 2*pi < 64/4) keeps factor 1, the slowest (wavelength
  // 2*pi*10000^(3/4) > 64/1) gets the full factor 8.
  Tensor t = f->tensor("rope_freqs.weight").to_f32();
  EXPECT_FLOAT_EQ(t.ptr<float>()[0], 1.0f);
  EXPECT_FLOAT_EQ(t.ptr<float>()[rf->shape[0] - 1], 8.0f);
  auto gg = load_llama_gguf<float>(*f);
  EXPECT_EQ(gg->cfg.rope_scaling.type, "factors");
  const std::vector<int32_t> ids = some_tokens(r.vocab, 12);
  auto a = stepwise_logits(*hf, ids);
  auto b = stepwise_logits(*gg, ids);
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i)
    for (size_t k = 0; k < a[i].size(); ++k) worst = std::max(worst, std::abs(double(a[i][k]) - double(b[i][k])));
  EXPECT_LT(worst, 1e-5);
  // Without the factors the model is another one.
  Variant plain;
  auto pl = load_llama_hf<float>(write_hf_dir(plain, vals, "conv_llama3_plain"));
  auto c = stepwise_logits(*pl, ids);
  double moved = 0;
  for (size_t i = 0; i < a.size(); ++i)
    for (size_t k = 0; k < a[i].size(); ++k) moved = std::max(moved, std::abs(double(a[i][k]) - double(c[i][k])));
  EXPECT_GT(moved, 1e-3);
}

TEST(HfModel, ConvertRefusesWhatGgufCannotHold) {
  std::string out = temp_dir("conv_out") + "/m.gguf";
  std::string e;
  // llama.cpp reads rope_freqs.weight for its llama graph only.
  Variant r;
  r.model_type = "qwen2";
  r.extra_json =
      ", \"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8.0, \"low_freq_factor\": 1.0, "
      "\"high_freq_factor\": 4.0, \"original_max_position_embeddings\": 64}";
  std::string dir2 = write_hf_dir(r, random_values(hf_tensors(r), false, 31), "conv_llama3");
  e = error_of([&] { convert_model(dir2, out); });
  EXPECT_EQ(e.rfind("[convert] ", 0), 0u) << e;
  EXPECT_NE(e.find("llama3"), std::string::npos) << e;
  EXPECT_FALSE(fs::exists(out));

  // HF to HF rewrites the weights as F32 and keeps the model.
  Variant b;
  b.bf16 = true;
  auto vals = random_values(hf_tensors(b), true, 37);
  std::string src = write_hf_dir(b, vals, "conv_bf16");
  std::string dst = temp_dir("conv_bf16_out") + "/m";
  ConvertReport rep = convert_model(src, dst);
  EXPECT_FALSE(rep.tokenizer_written);
  ASSERT_EQ(rep.notes.size(), 1u);
  EXPECT_NE(rep.notes[0].find("tokenizer.json"), std::string::npos);
  load_and_check(b, vals, dst);
  auto f = SafetensorsFile::open(dst + "/model.safetensors");
  EXPECT_EQ(f->dtype("model.layers.0.self_attn.q_proj.weight"), DType::F32);
}

TEST(HfModel, SaveModelAsLeavesTheModelUnchanged) {
  Pretrained p = load_pretrained(converted_dir());
  std::vector<int32_t> ids = story_ids(*p.tokenizer, 40);
  Batch batch = one_row_batch(ids);
  const double before = p.model->forward_loss(batch);
  std::vector<float> q0(p.model->layers[0].wq.weight.data.get(),
                        p.model->layers[0].wq.weight.data.get() + p.model->layers[0].wq.weight.numel());
  ConvertReport r;
  std::string out = temp_dir("save_as") + "/m.gguf";
  save_model_as(*p.model, nullptr, converted_dir(), out, &r);
  EXPECT_TRUE(r.tokenizer_written);
  EXPECT_EQ(p.model->cfg.rope_style, ops::RopeStyle::Half);
  EXPECT_TRUE(same_values(p.model->layers[0].wq.weight, q0));
  EXPECT_EQ(p.model->forward_loss(batch), before);
  // The written file is the original GGUF model again.
  Pretrained g = load_pretrained(out);
  EXPECT_NEAR(g.model->forward_loss(batch), before, 1e-4);
  EXPECT_EQ(g.tokenizer->encode("Once upon a time", true), p.tokenizer->encode("Once upon a time", true));
}

// The real sharded Devstral index (weights absent): every tensor it names is
// one the model maps, and every tensor the model needs is in it.
TEST(HfModel, RealShardedIndexNamesMatchTheMapping) {
  const std::string dir = shared_path("hf/devstral-small-sharded");
  LlamaConfig cfg = config_from_hf_json(dir + "/config.json");
  auto index = nlohmann::json::parse(read_file(dir + "/model.safetensors.index.json"));
  std::set<std::string> in_index;
  for (const auto& [name, file] : index.at("weight_map").items()) in_index.insert(name);
  // Names depend only on the layer count and the family's options, so a
  // model with tiny dimensions stands in for the 24B one.
  LlamaConfig small = cfg;
  small.dim = 8;
  small.hidden_dim = 8;
  small.n_heads = 2;
  small.n_kv_heads = 1;
  small.head_dim = 4;
  small.vocab_size = 8;
  LlamaModel<float> m(small);
  std::set<std::string> mapped;
  for (Param<float>* p : m.base_params()) mapped.insert(hf_tensor_name(p->name));
  EXPECT_EQ(mapped, in_index);
  EXPECT_EQ(mapped.size(), 363u);

  // Loading it fails on the first missing shard, naming it.
  std::string copy = temp_dir("devstral");
  write_file(copy + "/config.json", read_file(dir + "/config.json"));
  write_file(copy + "/model.safetensors.index.json", read_file(dir + "/model.safetensors.index.json"));
  std::string e = error_of([&] { load_llama_hf<float>(copy); });
  EXPECT_NE(e.find("model-0000"), std::string::npos) << e;
  EXPECT_EQ(e.find('\n'), std::string::npos) << e;
}
