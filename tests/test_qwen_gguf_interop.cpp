// A Qwen2 model converted by `peft convert` to GGUF, checked by llama.cpp's
// own llama-perplexity (../shared/bin/llama.cpp): a small random Qwen2
// (q/k/v biases, grouped-query attention) saved as a Hugging Face directory
// with the real Qwen 3 tokenizer.json (npm test data, see
// scripts/test-data.sh), converted to GGUF (architecture qwen2, vocabulary
// with pre-tokenizer qwen2, padded to the 151936 embedding rows), and scored
// by llama-perplexity and by `peft perplexity --protocol llama.cpp` on the
// same text: the tokenization, the tensor names, the row order of q and k
// and the biases must all agree for the two PPLs to match (relative 1e-4).
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

}  // namespace

TEST(QwenGgufInterop, LlamaPerplexityScoresOurConversionAsWeDo) {
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
  LlamaModel<float> m(c);
  init_llama_random(m, 11);
  // Larger weights than init's, and non-zero biases, so that a wrong layout
  // or a dropped bias moves the PPL far beyond the tolerance.
  Rng rng(12);
  for (Param<float>* p : m.base_params()) {
    if (p->group == "norm") continue;
    const double sd = p->group == "bias" ? 0.5 : p->group == "embed" ? 0.5 : 0.2;
    for (int64_t i = 0; i < p->numel(); ++i) p->data[i] = static_cast<float>(sd * rng.normal());
  }
  const std::string dir = temp_dir("qwen_interop");
  const std::string hf = dir + "/hf", gguf = dir + "/model.gguf", text = dir + "/text.txt";
  save_llama_hf(m, hf);
  write_file(hf + "/tokenizer.json", read_file(test_data("qwen3/tokenizer.json")));
  ConvertReport rep = convert_model(hf, gguf);
  ASSERT_TRUE(rep.tokenizer_written);
  auto f = GgufFile::open(gguf);
  EXPECT_EQ(f->get_string("general.architecture"), "qwen2");
  EXPECT_EQ(f->get_string("tokenizer.ggml.pre"), "qwen2");
  const std::vector<std::string> tokens = f->get_string_array("tokenizer.ggml.tokens");
  ASSERT_EQ(tokens.size(), 151936u);
  EXPECT_EQ(tokens.back(), "[PAD151935]");

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
  std::printf("[ qwen2 ] PPL llama-perplexity %.4f  peft %.4f\n", a, b);
  std::filesystem::remove_all(dir);
}
