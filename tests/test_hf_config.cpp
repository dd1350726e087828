// LlamaConfig from Hugging Face config.json files: the real ones in
// ../shared/hf and small hand-written ones for each option and each error.
// Expected values for the real files were read off the JSON by eye.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/error.h"
#include "model/hf_config.h"
#include "test_util.h"

namespace fs = std::filesystem;
using namespace peft;

namespace {

LlamaConfig from_text(const std::string& json) { return config_from_hf_json_text(json, "cfg.json"); }

// A minimal valid config of `type` with `extra` members appended.
std::string cfg(const std::string& type, const std::string& extra = "") {
  return "{\"model_type\":\"" + type +
         "\",\"hidden_size\":64,\"intermediate_size\":160,\"num_hidden_layers\":2,"
         "\"num_attention_heads\":4,\"vocab_size\":300" +
         (extra.empty() ? "" : "," + extra) + "}";
}

void expect_error(const std::string& json, const std::string& needle) {
  try {
    from_text(json);
    ADD_FAILURE() << "accepted: " << json << "\nexpected an error mentioning: " << needle;
  } catch (const InputError& e) {
    std::string msg = e.what();
    EXPECT_EQ(msg.rfind("[config] cfg.json: ", 0), 0u) << msg;
    EXPECT_NE(msg.find(needle), std::string::npos) << "message: " << msg << "\nexpected: " << needle;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
}

}  // namespace

TEST(HfConfig, Llama32_1B) {
  LlamaConfig c = config_from_hf_json(peft::test::shared_path("hf/llama-3.2-1b/config.json"));
  EXPECT_EQ(c.arch, "llama");
  EXPECT_EQ(c.dim, 2048);
  EXPECT_EQ(c.hidden_dim, 8192);
  EXPECT_EQ(c.n_layers, 16);
  EXPECT_EQ(c.n_heads, 32);
  EXPECT_EQ(c.n_kv_heads, 8);
  EXPECT_EQ(c.head_dim, 64);
  EXPECT_EQ(c.vocab_size, 128256);
  EXPECT_EQ(c.context_length, 131072);
  EXPECT_DOUBLE_EQ(c.norm_eps, 1e-5);
  EXPECT_DOUBLE_EQ(c.rope_theta, 500000.0);
  EXPECT_EQ(c.rope_style, ops::RopeStyle::Half);
  EXPECT_EQ(c.rope_scaling.type, "llama3");
  EXPECT_DOUBLE_EQ(c.rope_scaling.factor, 32.0);
  EXPECT_DOUBLE_EQ(c.rope_scaling.low_freq_factor, 1.0);
  EXPECT_DOUBLE_EQ(c.rope_scaling.high_freq_factor, 4.0);
  EXPECT_EQ(c.rope_scaling.original_max_position, 8192);
  EXPECT_TRUE(c.tied_embeddings);
  EXPECT_FALSE(c.qkv_bias);
  EXPECT_FALSE(c.qk_norm);
}

TEST(HfConfig, Qwen3_4B) {
  LlamaConfig c = config_from_hf_json(peft::test::shared_path("hf/qwen3-4b/config.json"));
  EXPECT_EQ(c.arch, "qwen3");
  EXPECT_EQ(c.dim, 2560);
  EXPECT_EQ(c.hidden_dim, 9728);
  EXPECT_EQ(c.n_layers, 36);
  EXPECT_EQ(c.n_heads, 32);
  EXPECT_EQ(c.n_kv_heads, 8);
  EXPECT_EQ(c.head_dim, 128);  // explicit: 32 × 128 = 4096 ≠ hidden_size 2560
  EXPECT_EQ(c.q_dim(), 4096);
  EXPECT_EQ(c.kv_dim(), 1024);
  EXPECT_EQ(c.vocab_size, 151936);
  EXPECT_EQ(c.context_length, 40960);
  EXPECT_DOUBLE_EQ(c.norm_eps, 1e-6);
  EXPECT_DOUBLE_EQ(c.rope_theta, 1000000.0);
  EXPECT_EQ(c.rope_scaling.type, "");  // "rope_scaling": null
  EXPECT_EQ(c.rope_style, ops::RopeStyle::Half);
  EXPECT_TRUE(c.tied_embeddings);
  EXPECT_TRUE(c.qk_norm);
  EXPECT_FALSE(c.qkv_bias);  // "attention_bias": false
}

TEST(HfConfig, DevstralMistral) {
  LlamaConfig c = config_from_hf_json(peft::test::shared_path("hf/devstral-small-sharded/config.json"));
  EXPECT_EQ(c.arch, "mistral");
  EXPECT_EQ(c.dim, 5120);
  EXPECT_EQ(c.hidden_dim, 32768);
  EXPECT_EQ(c.n_layers, 40);
  EXPECT_EQ(c.n_heads, 32);
  EXPECT_EQ(c.n_kv_heads, 8);
  EXPECT_EQ(c.head_dim, 128);
  EXPECT_EQ(c.vocab_size, 131072);
  EXPECT_EQ(c.context_length, 131072);  // "sliding_window": null, so no cap
  EXPECT_DOUBLE_EQ(c.norm_eps, 1e-5);
  EXPECT_DOUBLE_EQ(c.rope_theta, 1e9);
  EXPECT_EQ(c.rope_scaling.type, "");
  EXPECT_FALSE(c.tied_embeddings);
  EXPECT_FALSE(c.qkv_bias);
  EXPECT_FALSE(c.qk_norm);
}

TEST(HfConfig, DefaultsWhenKeysAbsent) {
  LlamaConfig c = from_text(cfg("llama"));
  EXPECT_EQ(c.n_kv_heads, 4);
  EXPECT_EQ(c.head_dim, 16);
  EXPECT_DOUBLE_EQ(c.rope_theta, 10000.0);
  EXPECT_DOUBLE_EQ(c.norm_eps, 1e-6);
  EXPECT_EQ(c.context_length, 2048);
  EXPECT_FALSE(c.tied_embeddings);
  EXPECT_EQ(c.rope_scaling.type, "");
  EXPECT_EQ(c.rope_style, ops::RopeStyle::Half);

  // Explicit nulls derive the value the same way.
  c = from_text(cfg("llama", "\"num_key_value_heads\":null,\"head_dim\":null,\"rope_scaling\":null"));
  EXPECT_EQ(c.n_kv_heads, 4);
  EXPECT_EQ(c.head_dim, 16);

  // qwen2: q/k/v biases always; transformers' default of 32 KV heads when absent
  // (heads = 32 here so that it is a valid model).
  c = from_text("{\"model_type\":\"qwen2\",\"hidden_size\":64,\"intermediate_size\":160,\"num_hidden_layers\":2,"
                "\"num_attention_heads\":32,\"vocab_size\":300}");
  EXPECT_TRUE(c.qkv_bias);
  EXPECT_FALSE(c.qk_norm);
  EXPECT_EQ(c.n_kv_heads, 32);
  EXPECT_EQ(c.head_dim, 2);
  EXPECT_EQ(c.context_length, 32768);

  // qwen3: head_dim 128 unless given.
  c = from_text(cfg("qwen3", "\"num_key_value_heads\":2"));
  EXPECT_TRUE(c.qk_norm);
  EXPECT_EQ(c.head_dim, 128);
  c = from_text(cfg("qwen3", "\"num_key_value_heads\":2,\"head_dim\":32"));
  EXPECT_EQ(c.head_dim, 32);

  // mistral: sliding_window defaults to 4096, which caps the context.
  c = from_text(cfg("mistral", "\"num_key_value_heads\":2"));
  EXPECT_EQ(c.context_length, 4096);
  c = from_text(cfg("mistral", "\"num_key_value_heads\":2,\"sliding_window\":null,\"max_position_embeddings\":32768"));
  EXPECT_EQ(c.context_length, 32768);
  c = from_text(cfg("mistral", "\"num_key_value_heads\":2,\"sliding_window\":1024,\"max_position_embeddings\":32768"));
  EXPECT_EQ(c.context_length, 1024);
  // qwen2 only slides when use_sliding_window is set.
  c = from_text(cfg("qwen2", "\"num_key_value_heads\":2,\"sliding_window\":1024,\"use_sliding_window\":false"));
  EXPECT_EQ(c.context_length, 32768);
  c = from_text(cfg("qwen2", "\"num_key_value_heads\":2,\"sliding_window\":1024,\"use_sliding_window\":true,"
                             "\"max_window_layers\":1"));
  EXPECT_EQ(c.context_length, 1024);
}

TEST(HfConfig, RopeScalingForms) {
  LlamaConfig c = from_text(cfg("llama", "\"rope_scaling\":{\"type\":\"linear\",\"factor\":2.0}"));
  EXPECT_EQ(c.rope_scaling.type, "linear");
  EXPECT_DOUBLE_EQ(c.rope_scaling.factor, 2.0);
  c = from_text(cfg("llama", "\"rope_scaling\":{\"rope_type\":\"linear\",\"factor\":4}"));
  EXPECT_DOUBLE_EQ(c.rope_scaling.factor, 4.0);
  c = from_text(cfg("llama", "\"rope_scaling\":{\"rope_type\":\"default\"}"));
  EXPECT_EQ(c.rope_scaling.type, "");
  c = from_text(cfg("llama", "\"rope_scaling\":{\"rope_type\":\"llama3\",\"factor\":8.0,\"low_freq_factor\":1.0,"
                             "\"high_freq_factor\":4.0,\"original_max_position_embeddings\":8192}"));
  EXPECT_EQ(c.rope_scaling.type, "llama3");
  EXPECT_DOUBLE_EQ(c.rope_scaling.factor, 8.0);
  EXPECT_EQ(c.rope_scaling.original_max_position, 8192);
  // transformers >= 5 writes rope_parameters, which carries rope_theta too.
  c = from_text(cfg("llama", "\"rope_parameters\":{\"rope_type\":\"default\",\"rope_theta\":500000.0}"));
  EXPECT_DOUBLE_EQ(c.rope_theta, 500000.0);
  EXPECT_EQ(c.rope_scaling.type, "");
}

TEST(HfConfig, ErrorsNameTheFileAndKey) {
  try {
    from_text(cfg("gpt2"));
    ADD_FAILURE();
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()),
              "[config] cfg.json: unsupported model_type 'gpt2' (supported: llama, mistral, qwen2, qwen3)");
  }
  expect_error("{\"hidden_size\":64}", "key 'model_type' is missing");
  expect_error("{\"model_type\":\"llama\",", "not valid JSON");
  expect_error("[1]", "not a JSON object");
  expect_error("{\"model_type\":\"llama\",\"intermediate_size\":160,\"num_hidden_layers\":2,"
               "\"num_attention_heads\":4,\"vocab_size\":300}",
               "key 'hidden_size' is missing");
  expect_error(cfg("llama").replace(cfg("llama").find("\"vocab_size\":300"), 16, "\"vocab_size\":\"300\""),
               "key 'vocab_size' must be a positive integer");
  expect_error("{\"model_type\":\"llama\",\"hidden_size\":64,\"intermediate_size\":160,\"num_hidden_layers\":-2,"
               "\"num_attention_heads\":4,\"vocab_size\":300}",
               "key 'num_hidden_layers' must be a positive integer, got -2");
  expect_error(cfg("llama", "\"num_key_value_heads\":3"), "not a multiple");
  expect_error(cfg("llama", "\"rms_norm_eps\":\"small\""), "key 'rms_norm_eps' must be a positive number");
  expect_error(cfg("llama", "\"tie_word_embeddings\":1"), "key 'tie_word_embeddings' must be true or false");
  expect_error(cfg("llama", "\"hidden_act\":\"gelu\""), "hidden_act 'gelu' is not supported");
  expect_error(cfg("llama", "\"attention_bias\":true"), "attention_bias=true");
  expect_error(cfg("llama", "\"mlp_bias\":true"), "mlp_bias=true");
  expect_error(cfg("llama", "\"rope_scaling\":{\"rope_type\":\"yarn\",\"factor\":4.0}"),
               "rope scaling type 'yarn' is not supported");
  expect_error(cfg("llama", "\"rope_scaling\":{\"rope_type\":\"llama3\",\"factor\":8.0}"),
               "key 'rope_scaling.low_freq_factor' is missing");
  expect_error(cfg("llama", "\"rope_scaling\":{\"type\":\"linear\"}"), "key 'rope_scaling.factor' is missing");
  expect_error(cfg("llama", "\"rope_scaling\":\"linear\""), "key 'rope_scaling' must be an object");
  expect_error(cfg("llama", "\"head_dim\":7"), "even");

  std::string dir = peft::test::temp_dir("hfcfg");
  for (const std::string& p : {dir + "/missing.json", dir}) {
    try {
      config_from_hf_json(p);
      ADD_FAILURE() << p;
    } catch (const InputError& e) {
      EXPECT_EQ(std::string(e.what()).rfind("[config] " + p + ": ", 0), 0u) << e.what();
    }
  }
  peft::test::write_file(dir + "/config.json", "{\"model_type\": \"llama\", oops}");
  try {
    config_from_hf_json(dir + "/config.json");
    ADD_FAILURE();
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("[config] " + dir + "/config.json: not valid JSON", 0), 0u) << e.what();
  }
  fs::remove_all(dir);
}
