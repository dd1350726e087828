// Models converted by `peft convert` to GGUF, checked by llama.cpp's own
// llama-perplexity (../shared/bin/llama.cpp): a small random model saved as
// a Hugging Face directory with a real tokenizer.json (npm test data, see
// scripts/test-data.sh), converted to GGUF, and scored by llama-perplexity
// and by `peft perplexity --protocol llama.cpp` on the same text. The
// tokenization (the pre-tokenizer GGUF names), the tensor names, the row
// order of q and k and what the architecture adds must all agree for the
// two PPLs to match (relative 1e-4):
//   - Qwen2 (q/k/v biases, grouped-query attention) with the Qwen 3
//     tokenizer: architecture qwen2, pre-tokenizer qwen2, vocabulary padded
//     to the 151936 embedding rows;
//   - Llama with Llama 3 rope scaling and the Llama 3 tokenizer: the
//     rope_freqs.weight tensor, pre-tokenizer llama-bpe.
// (The llama.cpp build here predates its qwen3 architecture; Qwen3 GGUF is
// checked against our own loader in test_hf_model.)
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/rng.h"
#include "io/gguf.h"
#include "model/hf_load.h"
#include "model/llama.h"
#include "test_util.h"
#include "train/convert.h"

using namespace peft;
using namespace peft::test;

namespace {

std::string test_data(const std::string& rel) {
  const char* dir = std::getenv("PEFT_TEST_DATA");
  const std::string path = std::string(dir ? dir : PEFT_BINARY_DIR "/test-data") + "/" + rel;
  if (!std::filesystem::exists(path))
    ADD_FAILURE() << path << " is missing: run scripts/test-data.sh " << PEFT_BINARY_DIR "/test-data";
  return path;
}

double final_ppl(const CliResult& r) {
  const std::string key = "Final estimate: PPL = ";
  for (const std::string* s : {&r.err, &r.out}) {
    const size_t at = s->rfind(key);
    if (at != std::string::npos) return std::strtod(s->c_str() + at + key.size(), nullptr);
  }
  ADD_FAILURE() << "no 'Final estimate: PPL' in the output:\n" << r.err << r.out;
  return NAN;
}

// Random weights (larger than init's, non-zero biases, so that a wrong
// layout or a dropped bias moves the PPL far beyond the tolerance), saved as
// HF with `tokenizer`, converted; returns the GGUF path.
std::string convert_random(LlamaConfig c, const std::string& tokenizer, const std::string& dir) {
  LlamaModel<float> m(c);
  init_llama_random(m, 11);
  Rng rng(12);
  for (Param<float>* p : m.base_params()) {
    if (p->group == "norm") continue;
    const double sd = p->group == "bias" || p->group == "embed" ? 0.5 : 0.2;
    for (int64_t i = 0; i < p->numel(); ++i) p->data[i] = static_cast<float>(sd * rng.normal());
  }
  const std::string hf = dir + "/hf", gguf = dir + "/model.gguf";
  save_llama_hf(m, hf);
  write_file(hf + "/tokenizer.json", read_file(tokenizer));
  ConvertReport rep = convert_model(hf, gguf);
  EXPECT_TRUE(rep.tokenizer_written);
  return gguf;
}

// llama-perplexity's PPL and ours on 3000 bytes of tinyshakespeare.
void expect_same_ppl(const std::string& gguf, const std::string& dir, const std::string& tag) {
  const std::string text = dir + "/text.txt";
  write_file(text, read_file(shared_path("data/tinyshakespeare/input.txt")).substr(40000, 3000));
  const CliResult llama = run_program(shared_path("bin/llama.cpp/llama-perplexity"),
                                      {"-m", gguf, "-f", text, "-c", "128", "-b", "128", "-t", "1", "-ctk", "f32",
                                       "-ctv", "f32"});
  ASSERT_EQ(llama.rc, 0) << llama.err.substr(llama.err.size() > 2000 ? llama.err.size() - 2000 : 0);
  const CliResult ours =
      run_cli({"perplexity", "-m", gguf, "-d", text, "--protocol", "llama.cpp", "-c", "128", "--threads", "1"});
  ASSERT_EQ(ours.rc, 0) << ours.err;
  const double a = final_ppl(llama), b = final_ppl(ours);
  EXPECT_LT(std::fabs(a - b) / a, 1e-4) << "llama-perplexity " << a << ", peft " << b;
  std::printf("[ %s ] PPL llama-perplexity %.4f  peft %.4f\n", tag.c_str(), a, b);
}

}  // namespace

TEST(ConvertInterop, Qwen2ScoredByLlamaPerplexity) {
  LlamaConfig c;
  c.arch = "qwen2";
  c.dim = 64;
  c.hidden_dim = 128;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.head_dim = 16;
  c.vocab_size = 151936;  // Qwen's embedding rows; its tokenizer has 151669 tokens
  c.context_length = 4096;
  c.rope_theta = 1e6;
  c.norm_eps = 1e-6;
  c.qkv_bias = true;
  c.rope_style = ops::RopeStyle::Half;  // as loaded from Hugging Face
  const std::string dir = temp_dir("convert_interop_qwen2");
  const std::string gguf = convert_random(c, test_data("qwen3/tokenizer.json"), dir);
  auto f = GgufFile::open(gguf);
  EXPECT_EQ(f->get_string("general.architecture"), "qwen2");
  EXPECT_EQ(f->get_string("tokenizer.ggml.pre"), "qwen2");
  const std::vector<std::string> tokens = f->get_string_array("tokenizer.ggml.tokens");
  ASSERT_EQ(tokens.size(), 151936u);
  EXPECT_EQ(tokens.back(), "[PAD151935]");
  expect_same_ppl(gguf, dir, "qwen2");
  std::filesystem::remove_all(dir);
}

TEST(ConvertInterop, Llama3ScaledScoredByLlamaPerplexity) {
  LlamaConfig c;
  c.arch = "llama";
  c.dim = 64;
  c.hidden_dim = 128;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.head_dim = 16;
  c.vocab_size = 128256;
  c.context_length = 4096;
  c.rope_theta = 500000;
  c.norm_eps = 1e-5;
  c.rope_style = ops::RopeStyle::Half;
  // A short original context, so that the scaled frequencies matter within
  // 128-token chunks.
  c.rope_scaling.type = "llama3";
  c.rope_scaling.factor = 8;
  c.rope_scaling.low_freq_factor = 1;
  c.rope_scaling.high_freq_factor = 4;
  c.rope_scaling.original_max_position = 32;
  const std::string dir = temp_dir("convert_interop_llama3");
  const std::string gguf = convert_random(c, test_data("llama3/tokenizer.json"), dir);
  auto f = GgufFile::open(gguf);
  EXPECT_NE(f->find_tensor("rope_freqs.weight"), nullptr);
  EXPECT_EQ(f->get_string("tokenizer.ggml.pre"), "llama-bpe");
  expect_same_ppl(gguf, dir, "llama3-scaled");
  std::filesystem::remove_all(dir);
}
