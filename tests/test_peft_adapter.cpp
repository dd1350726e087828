// PEFT adapter directories and the GGUF ↔ HF naming and q/k row order.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/rng.h"
#include "io/hf_names.h"
#include "io/peft_adapter.h"
#include "io/safetensors.h"
#include "test_util.h"

namespace peft {
namespace {

template <typename F>
void expect_input_error(F&& f, const std::string& needle) {
  try {
    f();
    FAIL() << "no error; expected " << needle;
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

Tensor random_tensor(Rng& rng, Shape shape) {
  Tensor t = Tensor::zeros(DType::F32, shape);
  float* p = t.mutable_ptr<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = rng.uniform(-1, 1);
  return t;
}

// ---------------------------------------------------------------- config

TEST(PeftConfig, LoraJsonIsSortedIndentedAndRoundTrips) {
  PeftAdapterConfig c;
  c.r = 16;
  c.lora_alpha = 32;
  c.dropout = 0.05;
  c.target_modules = {"v_proj", "q_proj"};
  c.use_rslora = true;
  c.rank_pattern = {{"model.layers.0.self_attn.q_proj", 4}};
  c.alpha_pattern = {{"k_proj", 2.5}};
  c.base_model_name_or_path = "stories260K";
  const std::string text = peft_config_to_json(c);
  auto j = nlohmann::json::parse(text);
  // Keys sorted, two-space indent, as PEFT's json.dumps(indent=2, sort_keys=True).
  std::vector<std::string> keys;
  for (auto it = j.begin(); it != j.end(); ++it) keys.push_back(it.key());
  EXPECT_TRUE(std::is_sorted(keys.begin(), keys.end()));
  EXPECT_EQ(text.substr(0, 20), "{\n  \"alpha_pattern\":");
  for (const char* k : {"base_model_name_or_path", "bias", "fan_in_fan_out", "inference_mode", "init_lora_weights",
                        "lora_alpha", "lora_dropout", "modules_to_save", "peft_type", "r", "rank_pattern",
                        "target_modules", "task_type", "use_dora", "use_rslora"})
    EXPECT_TRUE(j.contains(k)) << k;
  EXPECT_EQ(j["peft_type"], "LORA");
  EXPECT_EQ(j["lora_alpha"], 32);
  EXPECT_TRUE(j["lora_alpha"].is_number_integer());
  EXPECT_EQ(j["init_lora_weights"], true);
  EXPECT_EQ(j["target_modules"], nlohmann::json({"q_proj", "v_proj"}));
  EXPECT_EQ(j["task_type"], "CAUSAL_LM");

  PeftAdapterConfig back = peft_config_from_json(text, "x");
  EXPECT_EQ(back.r, 16);
  EXPECT_DOUBLE_EQ(back.lora_alpha, 32);
  EXPECT_DOUBLE_EQ(back.dropout, 0.05);
  EXPECT_TRUE(back.use_rslora);
  EXPECT_EQ(back.target_modules, (std::vector<std::string>{"q_proj", "v_proj"}));
  EXPECT_EQ(back.rank_pattern, c.rank_pattern);
  EXPECT_EQ(back.alpha_pattern, c.alpha_pattern);
  EXPECT_EQ(back.base_model_name_or_path, "stories260K");
  EXPECT_EQ(peft_config_to_json(back), text);
}

TEST(PeftConfig, VeraJson) {
  PeftAdapterConfig c;
  c.peft_type = "VERA";
  c.r = 64;
  c.projection_prng_key = 7;
  c.d_initial = 0.1;
  c.target_regex = R"(.*\.(q_proj|v_proj))";
  auto j = nlohmann::json::parse(peft_config_to_json(c));
  EXPECT_EQ(j["peft_type"], "VERA");
  EXPECT_EQ(j["save_projection"], true);
  EXPECT_EQ(j["projection_prng_key"], 7);
  EXPECT_EQ(j["vera_dropout"], 0.0);
  EXPECT_FALSE(j.contains("lora_alpha"));
  EXPECT_TRUE(j["target_modules"].is_string());
  PeftAdapterConfig back = peft_config_from_json(j.dump(), "x");
  EXPECT_EQ(back.peft_type, "VERA");
  EXPECT_EQ(back.r, 64);
  EXPECT_EQ(back.projection_prng_key, 7);
  EXPECT_EQ(back.target_regex, c.target_regex);
}

TEST(PeftConfig, ReadsWhatPeftWritesAndRejectsWhatWeCannotUse) {
  // Minimal and foreign-key configs: only peft_type is required, unknown keys are ignored.
  auto c = peft_config_from_json(R"({"peft_type": "LORA", "some_new_key": [1, 2]})", "x");
  EXPECT_EQ(c.r, 8);
  EXPECT_DOUBLE_EQ(c.lora_alpha, 8);
  c = peft_config_from_json(R"({"peft_type": "LORA", "init_lora_weights": "gaussian", "r": 4})", "x");
  EXPECT_EQ(c.init_lora_weights, "gaussian");
  expect_input_error([] { peft_config_from_json("{", "cfg.json"); }, "[peft] cfg.json: not valid JSON");
  expect_input_error([] { peft_config_from_json(R"({"r": 8})", "x"); }, "no 'peft_type'");
  expect_input_error([] { peft_config_from_json(R"({"peft_type": "IA3"})", "x"); }, "peft_type 'IA3' is not supported");
  expect_input_error([] { peft_config_from_json(R"({"peft_type": "LORA", "r": 0})", "x"); }, "'r' must be a positive");
  expect_input_error([] { peft_config_from_json(R"({"peft_type": "LORA", "r": "8"})", "x"); }, "'r' must be a number");
  expect_input_error([] { peft_config_from_json(R"({"peft_type": "LORA", "use_dora": true})", "x"); }, "DoRA");
  expect_input_error([] { peft_config_from_json(R"({"peft_type": "VERA", "projection_prng_key": 1e300})", "x"); },
                     "'projection_prng_key' must be an integer");
  expect_input_error([] { peft_config_from_json(R"({"peft_type": "LORA", "lora_dropout": 1.5})", "x"); },
                     "dropout must be in [0, 1)");
}

// ---------------------------------------------------------------- directory

TEST(PeftFiles, WriteOpenRoundTripAndErrors) {
  Rng rng(1);
  const std::string dir = test::temp_dir("peft_adapter");
  const std::string m = gguf_to_hf_module("blk.0.attn_q");
  std::map<std::string, Tensor> tensors;
  tensors[peft_lora_key(m, 'A')] = random_tensor(rng, {4, 64});
  tensors[peft_lora_key(m, 'B')] = random_tensor(rng, {64, 4});
  PeftAdapterConfig c;
  c.r = 4;
  c.target_modules = {"q_proj"};
  write_peft_adapter(dir, c, tensors);

  PeftAdapter a = PeftAdapter::open(dir);
  EXPECT_EQ(a.config().r, 4);
  EXPECT_EQ(a.keys().size(), 2u);
  EXPECT_EQ(peft_lora_key(m, 'A'), "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight");
  for (const auto& [k, t] : tensors) {
    Tensor back = a.tensor(k, t.shape());
    ASSERT_EQ(back.numel(), t.numel());
    for (int64_t i = 0; i < t.numel(); ++i) ASSERT_EQ(back.ptr<float>()[i], t.ptr<float>()[i]) << k;
  }
  auto st = SafetensorsFile::open(dir + "/adapter_model.safetensors");
  EXPECT_EQ(st->metadata().at("format"), "pt");

  expect_input_error([&] { a.tensor(peft_lora_key(m, 'A'), {4, 63}); }, "has shape [4, 64], expected [4, 63]");
  expect_input_error([&] { a.tensor(peft_lora_key("model.layers.1.self_attn.q_proj", 'A'), {4, 64}); },
                     "missing tensor 'base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight'");
  expect_input_error([] { PeftAdapter::open(test::temp_dir("peft_empty")); }, "no adapter_config.json");
  const std::string only_cfg = test::temp_dir("peft_cfg_only");
  test::write_file(only_cfg + "/adapter_config.json", peft_config_to_json(c));
  expect_input_error([&] { PeftAdapter::open(only_cfg); }, "no adapter_model.safetensors");
}

// ---------------------------------------------------------------- names

TEST(HfNames, ModulesMapBothWays) {
  const std::pair<const char*, const char*> pairs[] = {
      {"blk.0.attn_q", "model.layers.0.self_attn.q_proj"},      {"blk.1.attn_k", "model.layers.1.self_attn.k_proj"},
      {"blk.2.attn_v", "model.layers.2.self_attn.v_proj"},      {"blk.3.attn_output", "model.layers.3.self_attn.o_proj"},
      {"blk.4.ffn_gate", "model.layers.4.mlp.gate_proj"},       {"blk.15.ffn_up", "model.layers.15.mlp.up_proj"},
      {"blk.31.ffn_down", "model.layers.31.mlp.down_proj"}};
  for (auto [g, h] : pairs) {
    EXPECT_EQ(gguf_to_hf_module(g), h);
    EXPECT_EQ(hf_to_gguf_module(h), g);
    EXPECT_EQ(hf_to_gguf_module(std::string("base_model.model.") + h), g);
  }
  expect_input_error([] { gguf_to_hf_module("output"); }, "[names]");
  expect_input_error([] { gguf_to_hf_module("blk.x.attn_q"); }, "[names]");
  expect_input_error([] { hf_to_gguf_module("model.layers.0.self_attn.qq_proj"); }, "[names]");
}

TEST(HfNames, RowOrderSmallCase) {
  // 2 heads of head_dim 4 (half 2): GGUF rows [0 2 1 3 | 4 6 5 7] of HF.
  EXPECT_EQ(gguf_to_hf_rows(8, 2), (std::vector<int32_t>{0, 2, 1, 3, 4, 6, 5, 7}));
  auto p = gguf_to_hf_rows(48, 3);
  auto inv = invert_permutation(p);
  for (int i = 0; i < 48; ++i) EXPECT_EQ(p[inv[i]], i);
  expect_input_error([] { gguf_to_hf_rows(10, 4); }, "cannot split 10 rows");
}

// Rotary embedding both ways: HF rotates pairs (i, i + half) of each head,
// llama.cpp's "norm" rope rotates pairs (2i, 2i + 1), with the same angle
// pos · base^(−2i/head_dim). Rows in GGUF order under llama.cpp's rope must
// give HF's result in GGUF order: that is what the permutation is for.
TEST(HfNames, RowOrderMakesTheTwoRopesAgree) {
  const int64_t heads = 3, head_dim = 8, half = head_dim / 2, rows = heads * head_dim;
  const auto perm = gguf_to_hf_rows(rows, heads);
  Rng rng(2);
  std::vector<double> q_hf(rows);
  for (auto& v : q_hf) v = rng.uniform_double() * 2 - 1;
  std::vector<double> q_gguf(rows);
  for (int64_t g = 0; g < rows; ++g) q_gguf[g] = q_hf[perm[g]];
  const double pos = 5;
  auto angle = [&](int64_t i) { return pos * std::pow(10000.0, -2.0 * i / head_dim); };
  std::vector<double> r_hf(rows), r_gguf(rows);
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t i = 0; i < half; ++i) {
      const double c = std::cos(angle(i)), s = std::sin(angle(i));
      const int64_t a = h * head_dim + i, b = a + half;  // HF pair
      r_hf[a] = q_hf[a] * c - q_hf[b] * s;
      r_hf[b] = q_hf[a] * s + q_hf[b] * c;
      const int64_t x = h * head_dim + 2 * i, y = x + 1;  // llama.cpp pair
      r_gguf[x] = q_gguf[x] * c - q_gguf[y] * s;
      r_gguf[y] = q_gguf[x] * s + q_gguf[y] * c;
    }
  for (int64_t g = 0; g < rows; ++g) EXPECT_NEAR(r_gguf[g], r_hf[perm[g]], 1e-14) << g;
}

TEST(HfNames, ScatterRowsTakesGgufOrderToHfOrderAndBack) {
  const int64_t rows = 16, cols = 3;
  const auto perm = gguf_to_hf_rows(rows, 2);
  std::vector<float> hf(rows * cols), gguf(rows * cols), back(rows * cols);
  for (int64_t i = 0; i < rows * cols; ++i) hf[i] = static_cast<float>(i);
  // What llama.cpp's converter does to an HF matrix: gguf[g] = hf[perm[g]].
  for (int64_t g = 0; g < rows; ++g)
    for (int64_t c = 0; c < cols; ++c) gguf[g * cols + c] = hf[perm[g] * cols + c];
  scatter_rows(gguf.data(), back.data(), rows, cols, perm);
  EXPECT_EQ(back, hf);
  std::vector<int32_t> bad(rows, 0);
  expect_input_error([&] { scatter_rows(gguf.data(), back.data(), rows, cols, bad); }, "not a permutation");
}

}  // namespace
}  // namespace peft
