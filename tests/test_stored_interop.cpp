// Our quantized GGUF files read by llama.cpp (an independent reader), and our
// storage-type inference against llama.cpp's on the same file.
//
// A small random model whose rows hold whole K-quant blocks (dim 256, hidden
// 512) with weights large enough that every logit depends on them (std 0.16:
// logits of standard deviation ~2.5), written as F32, Q8_0 and Q4_K with the
// stories260K tokenizer. Then:
//   - llama-perplexity on the Q8_0 / Q4_K files lands close to the F32 file
//     in NLL (the quantizers keep the model; a wrong block layout gives noise);
//   - `peft perplexity --base-dtype keep` on each file (the stored weights
//     widened inside our products) equals llama-perplexity on the same file
//     up to llama.cpp's own arithmetic: it quantizes activations to 8 bits
//     for quantized dot products, we compute in f32.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "core/stored_matrix.h"
#include "io/gguf.h"
#include "model/llama.h"
#include "test_util.h"

using namespace peft;
using namespace peft::test;
namespace fs = std::filesystem;

namespace {

double final_ppl(const CliResult& r) {
  const std::string key = "Final estimate: PPL = ";
  for (const std::string* s : {&r.err, &r.out}) {
    size_t at = s->rfind(key);
    if (at == std::string::npos) continue;
    return std::strtod(s->c_str() + at + key.size(), nullptr);
  }
  ADD_FAILURE() << "no PPL in llama-perplexity's output:\n" << r.err.substr(r.err.size() > 3000 ? r.err.size() - 3000 : 0);
  return NAN;
}

// Writes `m` with its matrices in `t` (norms F32) and stories260K's tokenizer.
void write_model(LlamaModel<float>& m, DType t, const std::string& path) {
  auto tok = GgufFile::open(shared_path("models/stories260K.gguf"));
  GgufWriter w;
  const LlamaConfig& c = m.cfg;
  auto u32 = [](int64_t x) { return GgufValue::u32(static_cast<uint32_t>(x)); };
  w.set("general.architecture", GgufValue::string("llama"));
  w.set("llama.context_length", u32(c.context_length));
  w.set("llama.embedding_length", u32(c.dim));
  w.set("llama.feed_forward_length", u32(c.hidden_dim));
  w.set("llama.block_count", u32(c.n_layers));
  w.set("llama.attention.head_count", u32(c.n_heads));
  w.set("llama.attention.head_count_kv", u32(c.n_kv_heads));
  w.set("llama.attention.layer_norm_rms_epsilon", GgufValue::f32(static_cast<float>(c.norm_eps)));
  w.set("llama.rope.freq_base", GgufValue::f32(static_cast<float>(c.rope_theta)));
  w.set("llama.rope.dimension_count", u32(c.head_dim));
  for (const std::string& k : tok->keys())
    if (k.rfind("tokenizer.", 0) == 0) w.set(k, tok->get(k));
  std::vector<StoredMatrix> keep;
  keep.reserve(64);
  for (Param<float>* p : m.base_params()) {
    const DType dt = p->shape.size() == 2 ? t : DType::F32;
    const int64_t rows = p->shape.size() == 2 ? p->shape[0] : 1;
    keep.push_back(StoredMatrix::from_f32(dt, p->data.get(), rows, p->shape.back()));
    w.add_tensor(p->name, Tensor::view(dt, p->shape, keep.back().row(0), nullptr));
  }
  w.write(path);
}

}  // namespace

TEST(StoredInterop, LlamaCppReadsOurQuantizedFilesAndAgreesWithOurStoredInference) {
  LlamaConfig c;
  c.arch = "llama";
  c.vocab_size = 512;
  c.dim = 256;
  c.hidden_dim = 512;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.head_dim = 64;
  c.context_length = 256;
  LlamaModel<float> m(c);
  init_llama_random(m, 7);
  for (Param<float>* p : m.base_params())
    if (p->shape.size() == 2)
      for (int64_t i = 0; i < p->numel(); ++i) p->data[i] *= 8.0f;

  const std::string dir = temp_dir("stored-interop");
  const std::string text = dir + "/eval.txt";
  write_file(text, read_file(shared_path("data/tinyshakespeare/input.txt")).substr(40000, 1100));
  const std::vector<std::string> llama_args{"-f", text, "-c", "128", "-b", "128", "-t", "1", "-ctk", "f32", "-ctv", "f32"};

  std::map<std::string, double> llama, ours;
  for (DType t : {DType::F32, DType::Q8_0, DType::Q4_K}) {
    const std::string path = dir + "/m-" + dtype_name(t) + ".gguf";
    write_model(m, t, path);
    std::vector<std::string> a{"-m", path};
    a.insert(a.end(), llama_args.begin(), llama_args.end());
    CliResult lr = run_program(shared_path("bin/llama.cpp/llama-perplexity"), a);
    ASSERT_EQ(lr.rc, 0) << lr.err.substr(lr.err.size() > 3000 ? lr.err.size() - 3000 : 0);
    llama[dtype_name(t)] = final_ppl(lr);
    CliResult pr = run_cli({"perplexity", "-m", path, "-d", text, "--protocol", "llama.cpp", "-c", "128", "--json",
                            "--threads", "1", "--base-dtype", "keep"});
    ASSERT_EQ(pr.rc, 0) << pr.err;
    ours[dtype_name(t)] = nlohmann::json::parse(pr.out)["perplexity"].get<double>();
    std::printf("[ %s ] PPL llama-perplexity %.5f  peft (stored %s) %.5f\n", dtype_name(t), llama[dtype_name(t)],
                dtype_name(t), ours[dtype_name(t)]);
  }
  auto rel = [](double a, double b) { return std::fabs(a - b) / b; };
  // f32: the same model computed twice.
  EXPECT_LT(rel(ours["F32"], llama["F32"]), 1e-4);
  // Quantized: the same stored bytes, our f32 products against llama.cpp's
  // 8-bit activation dot products.
  EXPECT_LT(rel(ours["Q8_0"], llama["Q8_0"]), 2e-3);
  EXPECT_LT(rel(ours["Q4_K"], llama["Q4_K"]), 5e-3);
  // The quantized models stay close to the f32 one in NLL (log PPL, nats per
  // token). This random model is confidently wrong (PPL ~11000 over 512
  // tokens, NLL ~9.3 against 6.2 for uniform), so its NLL moves with every
  // weight; a wrong block layout would move it by nats, not hundredths.
  const double nll_f32 = std::log(llama["F32"]);
  EXPECT_GT(std::fabs(nll_f32 - std::log(512.0)), 1.0) << "the random model is too close to uniform to check anything";
  EXPECT_LT(std::fabs(std::log(llama["Q8_0"]) - nll_f32), 0.02);
  EXPECT_LT(std::fabs(std::log(llama["Q4_K"]) - nll_f32), 0.15);
  fs::remove_all(dir);
}
