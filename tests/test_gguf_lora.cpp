// llama.cpp LoRA export: read the file back with our GGUF reader and apply
// llama.cpp's rule, y += (alpha / r) · B (A x) with r from each lora_a, and
// compare with each adapter's own delta, in llama.cpp's row order.
#include <gtest/gtest.h>

#include "adapter_test_util.h"
#include "adapters/delta_lora.h"
#include "train/gguf_lora.h"
#include "adapters/lora.h"
#include "adapters/vera.h"
#include "core/error.h"
#include "io/gguf.h"
#include "io/hf_names.h"
#include "test_util.h"

namespace peft {
namespace {

using test::random_vec;

constexpr int64_t kN = 4;

template <typename T>
void randomize_n(T* p, int64_t n, Rng& rng, double scale = 0.5) {
  auto v = random_vec<T>(rng, n, scale);
  std::copy(v.begin(), v.end(), p);
}

TEST(GgufLora, EveryMethodExportsAnExactPlainLora) {
  Rng rng(1);
  std::vector<std::unique_ptr<Adapter<float>>> keep;
  std::vector<GgufLoraLayer> layers;
  VeraShared<float> shared(5, 24, 16, 3);
  auto add = [&](const std::string& name, const std::string& kind, int64_t in, int64_t out, std::vector<int32_t> rows,
                 std::unique_ptr<Adapter<float>> a) {
    layers.push_back(GgufLoraLayer{LinearInfo{name, kind, in, out}, std::move(rows), a.get()});
    keep.push_back(std::move(a));
  };
  auto lora = [&](LinearInfo info, int r, double alpha, bool rs) {
    LoraOptions o;
    o.rank = r;
    o.alpha = alpha;
    o.rslora = rs;
    auto a = std::make_unique<LoraAdapter<float>>(info, o, nullptr, rng);
    randomize_n(a->B(), info.out * r, rng);
    return a;
  };
  // q of a model loaded in HF order: its rows move to llama.cpp's order.
  LinearInfo q{"blk.0.attn_q", "q", 16, 16};
  const auto hf_of_gguf = gguf_to_hf_rows(16, 2);  // gguf row g holds HF row hf_of_gguf[g]
  add(q.name, "q", 16, 16, invert_permutation(hf_of_gguf), lora(q, 4, 8, false));
  LinearInfo v{"blk.0.attn_v", "v", 16, 8};
  add(v.name, "v", 16, 8, {}, lora(v, 2, 3, true));  // another rank and scale: folded into B
  LinearInfo d{"blk.1.ffn_down", "down", 24, 16};
  {
    LoraOptions o;
    o.rank = 3;
    o.alpha = 6;
    auto a = std::make_unique<DeltaLoraAdapter<float>>(d, o, DeltaLoraOptions{2.0, 0}, nullptr, rng);
    randomize_n(a->B(), 16 * 3, rng);
    a->after_step(nullptr, 1);
    randomize_n(a->A(), 3 * 24, rng);
    add(d.name, "down", 24, 16, {}, std::move(a));
  }
  LinearInfo u{"blk.1.ffn_up", "up", 16, 24 - 8};
  {
    auto a = std::make_unique<VeraAdapter<float>>(u, VeraOptions{}, &shared, rng);
    randomize_n(a->lambda_b(), u.out, rng);
    add(u.name, "up", u.in, u.out, {}, std::move(a));
  }

  const std::string path = test::temp_dir("gguf_lora") + "/adapter.gguf";
  const double alpha = save_gguf_lora(path, "llama", layers);
  EXPECT_DOUBLE_EQ(alpha, 8.0);  // first layer: s · r = 2 · 4

  auto f = GgufFile::open(path);
  EXPECT_EQ(f->get_string("general.type"), "adapter");
  EXPECT_EQ(f->get_string("general.architecture"), "llama");
  EXPECT_EQ(f->get_string("adapter.type"), "lora");
  EXPECT_FLOAT_EQ(static_cast<float>(f->get_float("adapter.lora.alpha")), 8.0f);
  EXPECT_EQ(f->tensors().size(), 2 * layers.size());
  for (const auto& l : layers) {
    SCOPED_TRACE(l.info.name);
    const auto* ia = f->find_tensor(l.info.name + ".weight.lora_a");
    const auto* ib = f->find_tensor(l.info.name + ".weight.lora_b");
    ASSERT_NE(ia, nullptr);
    ASSERT_NE(ib, nullptr);
    const int64_t r = ia->ne[1];
    EXPECT_EQ(ia->ne, (std::vector<int64_t>{l.info.in, r}));
    EXPECT_EQ(ib->ne, (std::vector<int64_t>{r, l.info.out}));
    Tensor A = f->tensor(l.info.name + ".weight.lora_a").to_f32(), B = f->tensor(l.info.name + ".weight.lora_b").to_f32();
    auto x = random_vec<float>(rng, kN * l.info.in);
    std::vector<float> ours(kN * l.info.out, 0.0f);
    const_cast<Adapter<float>*>(l.adapter)->forward(x.data(), ours.data(), kN, false);
    // llama.cpp: (alpha / r) · B (A x), rows in GGUF order.
    for (int64_t t = 0; t < kN; ++t)
      for (int64_t i = 0; i < l.info.out; ++i) {
        const int64_t g = l.gguf_rows.empty() ? i : l.gguf_rows[i];
        double acc = 0;
        for (int64_t k = 0; k < r; ++k) {
          double ax = 0;
          for (int64_t j = 0; j < l.info.in; ++j) ax += A.ptr<float>()[k * l.info.in + j] * x[t * l.info.in + j];
          acc += B.ptr<float>()[g * r + k] * ax;
        }
        EXPECT_NEAR(alpha / r * acc, ours[t * l.info.out + i], 1e-5 * (1 + std::fabs(ours[t * l.info.out + i])));
      }
  }
}

TEST(GgufLora, Errors) {
  EXPECT_THROW(save_gguf_lora(test::temp_dir("gguf_lora_e") + "/a.gguf", "llama", {}), InputError);
  Rng rng(2);
  LoraOptions o;
  o.rank = 2;
  LoraAdapter<float> a(LinearInfo{"blk.0.attn_q", "q", 8, 8}, o, nullptr, rng);
  std::vector<GgufLoraLayer> bad = {GgufLoraLayer{a.info(), {0, 0, 1, 2, 3, 4, 5, 6}, &a}};
  EXPECT_THROW(save_gguf_lora(test::temp_dir("gguf_lora_e2") + "/a.gguf", "llama", bad), InputError);
  EXPECT_THROW(save_gguf_lora(test::temp_dir("gguf_lora_e3") + "/a.gguf", "", bad), InputError);
}

}  // namespace
}  // namespace peft
