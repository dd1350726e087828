// Mistral, Qwen2, Qwen3 and Llama (llama3 rope scaling) forward passes
// against an independent implementation: bench/make_arch_goldens.py wrote
// tiny random-weight Hugging Face directories and the float64 logits of its
// own forward pass (PyTorch, written from transformers' modeling code) into
// tests/data/arch_goldens/<arch>/. Here the directories go through our HF
// loader (and, where `peft convert` can write the architecture, through a
// GGUF conversion) and the logits are compared.
//
// Tolerances. The reference is float64 on the float32 weights we load, so:
//  - our double model must agree to rounding: 1e-10 of the sequence's
//    largest |logit| (measured ~1e-15).
//  - our float model: 1e-4 of the sequence's largest |logit|. Its error is
//    float rounding accumulated through two layers (dot products of ≤ 70
//    terms, see test_model_grad's float-vs-double bound), measured ~1e-6;
//    an error in the architecture (rope pairing, theta, GQA mapping, a
//    missing bias or norm, the wrong head) moves logits by O(1).
//  - the summed NLL of the packed training forward: each token's NLL is
//    log-sum-exp minus one logit, whose change is at most 2·max|Δlogit|, so
//    the sum may move by 2·N times the logit bound.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "core/batch.h"
#include "io/gguf.h"
#include "io/safetensors.h"
#include "model/hf_load.h"
#include "model/llama.h"
#include "test_util.h"
#include "train/convert.h"

using namespace peft;

namespace {

constexpr double kFloatRel = 1e-4;
constexpr double kDoubleRel = 1e-10;

std::string golden_dir(const std::string& arch) {
  return std::string(PEFT_SOURCE_DIR) + "/tests/data/arch_goldens/" + arch;
}

struct Golden {
  std::vector<std::vector<int32_t>> tokens;  // per sequence [T]
  std::vector<std::vector<double>> logits;   // per sequence [T·vocab]
  int64_t vocab = 0;
};

Golden read_golden(const std::string& arch) {
  auto f = SafetensorsFile::open(golden_dir(arch) + "/expected.safetensors");
  Golden g;
  for (int n = 0; f->has("tokens." + std::to_string(n)); ++n) {
    Tensor t = f->tensor("tokens." + std::to_string(n));
    Tensor l = f->tensor("logits." + std::to_string(n));
    EXPECT_EQ(t.dtype(), DType::I32);
    EXPECT_EQ(l.dtype(), DType::F64);
    const int64_t T = t.numel();
    EXPECT_EQ(l.shape().size(), 2u);
    EXPECT_EQ(l.shape()[0], T);
    g.vocab = l.shape()[1];
    g.tokens.emplace_back(t.ptr<int32_t>(), t.ptr<int32_t>() + T);
    g.logits.emplace_back(l.ptr<double>(), l.ptr<double>() + T * g.vocab);
  }
  EXPECT_GE(g.tokens.size(), 3u) << arch;
  return g;
}

double max_abs(const std::vector<double>& v) {
  double m = 0;
  for (double x : v) m = std::max(m, std::fabs(x));
  return m;
}

// Largest |ours − reference| / max|reference| over one sequence's logits.
struct Errors {
  double stepwise = 0;  // every position, one token at a time through the KV cache
  double prefill = 0;   // the last position after the whole sequence in one call
  double packed_nll = 0;  // |Σ NLL ours − Σ NLL reference| / (2·N·max|logit|)
};

template <typename T>
Errors compare(LlamaModel<T>& m, const Golden& g) {
  Errors e;
  EXPECT_EQ(m.cfg.vocab_size, g.vocab);
  const int64_t V = g.vocab;
  for (size_t s = 0; s < g.tokens.size(); ++s) {
    const auto& ids = g.tokens[s];
    const auto& ref = g.logits[s];
    const double scale = max_abs(ref);
    const int64_t n = static_cast<int64_t>(ids.size());
    auto cache = m.make_cache(n);
    std::vector<T> out(V);
    for (int64_t t = 0; t < n; ++t) {
      m.forward_cached(cache, &ids[t], 1, out.data());
      for (int64_t v = 0; v < V; ++v)
        e.stepwise = std::max(e.stepwise, std::fabs(static_cast<double>(out[v]) - ref[t * V + v]) / scale);
    }
    auto cache2 = m.make_cache(n);
    m.forward_cached(cache2, ids.data(), n, out.data());
    for (int64_t v = 0; v < V; ++v)
      e.prefill = std::max(e.prefill, std::fabs(static_cast<double>(out[v]) - ref[(n - 1) * V + v]) / scale);
  }

  // The training forward on all sequences packed into one row: positions
  // restart and attention stays inside each sequence. Every position is
  // scored against an arbitrary target; the expected NLL comes from the
  // reference logits.
  Batch b;
  b.B = 1;
  double ref_nll = 0, scale = 0;
  for (size_t s = 0; s < g.tokens.size(); ++s) {
    const auto& ids = g.tokens[s];
    const auto& ref = g.logits[s];
    scale = std::max(scale, max_abs(ref));
    for (size_t t = 0; t < ids.size(); ++t) {
      const int32_t target = static_cast<int32_t>((ids[t] * 7 + 3 + t) % V);
      b.tokens.push_back(ids[t]);
      b.targets.push_back(target);
      b.positions.push_back(static_cast<int32_t>(t));
      b.segments.push_back(static_cast<int32_t>(s));
      const double* row = &ref[t * V];
      double mx = row[0];
      for (int64_t v = 0; v < V; ++v) mx = std::max(mx, row[v]);
      double sum = 0;
      for (int64_t v = 0; v < V; ++v) sum += std::exp(row[v] - mx);
      ref_nll += mx + std::log(sum) - row[target];
    }
  }
  b.T = static_cast<int64_t>(b.tokens.size());
  const double nll = m.forward_loss(b);
  e.packed_nll = std::fabs(nll - ref_nll) / (2.0 * static_cast<double>(b.T) * scale);
  return e;
}

void expect_within(const Errors& e, double rel, const std::string& what) {
  EXPECT_LE(e.stepwise, rel) << what << ": logits, one token at a time";
  EXPECT_LE(e.prefill, rel) << what << ": last logits after a whole-sequence prefill";
  EXPECT_LE(e.packed_nll, rel) << what << ": summed NLL of the packed training forward";
  std::printf("%-22s stepwise %.2e  prefill %.2e  packed NLL %.2e\n", what.c_str(), e.stepwise, e.prefill,
              e.packed_nll);
}

// The HF directory through load_llama_hf in both precisions.
void check_hf(const std::string& arch) {
  const Golden g = read_golden(arch);
  auto m32 = load_llama_hf<float>(golden_dir(arch));
  auto m64 = load_llama_hf<double>(golden_dir(arch));
  expect_within(compare(*m32, g), kFloatRel, arch + " hf f32");
  expect_within(compare(*m64, g), kDoubleRel, arch + " hf f64");
}

// The HF directory converted to GGUF by the library (q/k rows move to
// llama.cpp's interleaved order), then loaded from the GGUF file.
void check_gguf(const std::string& arch) {
  const Golden g = read_golden(arch);
  const std::string out = peft::test::temp_dir("arch_" + arch) + "/model.gguf";
  convert_model(golden_dir(arch), out);
  auto f = GgufFile::open(out);
  auto m32 = load_llama_gguf<float>(*f);
  auto m64 = load_llama_gguf<double>(*f);
  EXPECT_EQ(m32->cfg.rope_style, ops::RopeStyle::Interleaved);
  expect_within(compare(*m32, g), kFloatRel, arch + " gguf f32");
  expect_within(compare(*m64, g), kDoubleRel, arch + " gguf f64");
}

}  // namespace

TEST(ArchGoldens, Qwen2BiasesUntiedHead) {
  auto m = load_llama_hf<float>(golden_dir("qwen2"));
  EXPECT_EQ(m->cfg.arch, "qwen2");
  EXPECT_TRUE(m->cfg.qkv_bias);
  EXPECT_FALSE(m->cfg.qk_norm);
  EXPECT_FALSE(m->cfg.tied_embeddings);
  EXPECT_EQ(m->cfg.n_kv_heads, 2);
  EXPECT_EQ(m->cfg.rope_theta, 1e6);
  EXPECT_EQ(m->cfg.context_length, 32768);  // use_sliding_window is false
  check_hf("qwen2");
}

TEST(ArchGoldens, Qwen3QkNormExplicitHeadDimTiedHead) {
  auto m = load_llama_hf<float>(golden_dir("qwen3"));
  EXPECT_EQ(m->cfg.arch, "qwen3");
  EXPECT_TRUE(m->cfg.qk_norm);
  EXPECT_FALSE(m->cfg.qkv_bias);
  EXPECT_TRUE(m->cfg.tied_embeddings);
  EXPECT_EQ(m->cfg.head_dim, 16);  // not hidden_size / heads = 8
  EXPECT_EQ(m->cfg.rope_theta, 1e6);
  check_hf("qwen3");
}

TEST(ArchGoldens, MistralExplicitHeadDimSlidingWindowCap) {
  auto m = load_llama_hf<float>(golden_dir("mistral"));
  EXPECT_EQ(m->cfg.arch, "mistral");
  EXPECT_FALSE(m->cfg.tied_embeddings);
  EXPECT_EQ(m->cfg.head_dim, 16);
  EXPECT_EQ(m->cfg.rope_theta, 1e9);
  // Sliding-window attention is not implemented; it equals full attention
  // up to the window, so the loader caps the context there. The golden
  // sequences (≤ 70 tokens) stay inside the window of 96.
  EXPECT_EQ(m->cfg.context_length, 96);
  check_hf("mistral");
}

TEST(ArchGoldens, MistralThroughGgufConversion) { check_gguf("mistral"); }

TEST(ArchGoldens, LlamaLlama3RopeScalingTiedHead) {
  auto m = load_llama_hf<float>(golden_dir("llama"));
  EXPECT_EQ(m->cfg.rope_scaling.type, "llama3");
  EXPECT_EQ(m->cfg.rope_scaling.factor, 32.0);
  EXPECT_EQ(m->cfg.rope_scaling.original_max_position, 256);
  EXPECT_TRUE(m->cfg.tied_embeddings);
  check_hf("llama");
}
