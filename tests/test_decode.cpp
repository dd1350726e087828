// Generation's cached forward on the real stories260K model:
//  - the bf16 KV cache gives logits within a stated tolerance of the f32
//    cache at every step of a whole 256-token greedy generation (teacher
//    forced on the f32 run's tokens, so both see the same sequence);
//  - a prompt fed as one batch gives the logits of feeding it token by token;
//  - the cached forward equals the uncached training forward (forward_hidden
//    + the output head), which has no cache at all.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"
#include "io/gguf.h"
#include "model/llama.h"
#include "ops/matmul.h"
#include "test_util.h"

using namespace peft;
using peft::test::shared_path;

namespace {

std::unique_ptr<LlamaModel<float>> stories() {
  auto f = GgufFile::open(shared_path("models/stories260K.gguf"));
  return load_llama_gguf<float>(*f);
}

int32_t argmax(const std::vector<float>& v) {
  return static_cast<int32_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

constexpr int32_t kBos = 1;
constexpr int64_t kSteps = 256;

// Greedy from BOS with an f32 cache: the fed tokens and the logits after each.
void greedy_f32(LlamaModel<float>& m, std::vector<int32_t>& fed, std::vector<std::vector<float>>& logits) {
  auto cache = m.make_cache(kSteps + 1, DType::F32);
  std::vector<float> lg(m.cfg.vocab_size);
  int32_t id = kBos;
  for (int64_t t = 0; t < kSteps; ++t) {
    m.forward_cached(cache, &id, 1, lg.data());
    fed.push_back(id);
    logits.push_back(lg);
    id = argmax(lg);
  }
}

}  // namespace

TEST(Decode, Bf16CacheLogitsStayWithinToleranceOfF32CacheForAWholeGeneration) {
  auto m = stories();
  std::vector<int32_t> fed;
  std::vector<std::vector<float>> ref;
  greedy_f32(*m, fed, ref);

  auto cache = m->make_cache(kSteps + 1, DType::BF16);
  std::vector<float> lg(m->cfg.vocab_size);
  double worst = 0, worst_rel = 0;
  int64_t argmax_same = 0;
  for (int64_t t = 0; t < kSteps; ++t) {
    m->forward_cached(cache, &fed[t], 1, lg.data());
    float range = *std::max_element(ref[t].begin(), ref[t].end()) - *std::min_element(ref[t].begin(), ref[t].end());
    double d = 0;
    for (size_t i = 0; i < lg.size(); ++i) d = std::max(d, static_cast<double>(std::fabs(lg[i] - ref[t][i])));
    worst = std::max(worst, d);
    worst_rel = std::max(worst_rel, d / range);
    argmax_same += argmax(lg) == argmax(ref[t]);
  }
  // The stated tolerance (docs/generation.md): every logit of every step
  // within 0.3 absolute and 1% of that step's logit range (max − min, about
  // 30 here) of the f32 cache's, and the same greedy choice at every step.
  // bf16 keeps 8 mantissa bits, so each cached k and v moves by up to 2⁻⁹
  // relative; measured: 0.20 and 0.66% at worst over the 256 steps.
  EXPECT_LT(worst, 0.3) << "largest logit difference over " << kSteps << " steps";
  EXPECT_LT(worst_rel, 0.01);
  EXPECT_EQ(argmax_same, kSteps) << "greedy choices that differ";
  std::printf("bf16 vs f32 cache over %lld steps: max |dlogit| %.5f (%.5f of the range)\n",
              static_cast<long long>(kSteps), worst, worst_rel);
  // And the caches really differ: bf16 is not a silent f32.
  EXPECT_GT(worst, 0.0);
  EXPECT_EQ(cache.bytes() * 2, m->make_cache(kSteps + 1, DType::F32).bytes());
}

TEST(Decode, PromptAsOneBatchEqualsTokenByToken) {
  auto m = stories();
  std::vector<int32_t> fed;
  std::vector<std::vector<float>> ref;
  greedy_f32(*m, fed, ref);
  const int64_t n = 40;
  for (DType kv : {DType::F32, DType::BF16}) {
    SCOPED_TRACE(dtype_name(kv));
    std::vector<float> one(m->cfg.vocab_size), batch(m->cfg.vocab_size);
    auto c1 = m->make_cache(n + 2, kv);
    for (int64_t t = 0; t < n; ++t) m->forward_cached(c1, &fed[t], 1, one.data());
    auto c2 = m->make_cache(n + 2, kv);
    m->forward_cached(c2, fed.data(), 30, batch.data());      // a prompt of 30 ...
    m->forward_cached(c2, fed.data() + 30, n - 30, batch.data());  // ... then 10 more at once
    // The batch runs GEMMs where single tokens run GEMVs: f32 sums in another
    // order (about 1e-6 relative per product, grown through 5 layers). With
    // a bf16 cache a key or value that lands near a rounding boundary may
    // round the other way, which moves logits by up to ~1e-3.
    const double tol = kv == DType::F32 ? 1e-4 : 1e-2;
    double worst = 0;
    for (size_t i = 0; i < one.size(); ++i) worst = std::max(worst, static_cast<double>(std::fabs(batch[i] - one[i])));
    // And the next step from both caches agrees.
    m->forward_cached(c1, &fed[n], 1, one.data());
    m->forward_cached(c2, &fed[n], 1, batch.data());
    for (size_t i = 0; i < one.size(); ++i) worst = std::max(worst, static_cast<double>(std::fabs(batch[i] - one[i])));
    EXPECT_LT(worst, tol);
    std::printf("%s cache, batch vs token by token: max |dlogit| %.6f\n", dtype_name(kv), worst);
  }
}

TEST(Decode, CachedForwardEqualsTheUncachedForward) {
  // The training forward (no cache, tiled attention, GEMMs) over the whole
  // sequence gives every position's hidden state; its last row through the
  // output head must be the cached forward's last logits.
  auto m = stories();
  std::vector<int32_t> fed;
  std::vector<std::vector<float>> ref;
  greedy_f32(*m, fed, ref);
  const int64_t T = 100;
  Batch b;
  b.B = 1;
  b.T = T;
  b.tokens.assign(fed.begin(), fed.begin() + T);
  for (int64_t t = 0; t < T; ++t) b.positions.push_back(static_cast<int32_t>(t));
  const float* h = m->forward_hidden(b, false);
  std::vector<float> lg(m->cfg.vocab_size);
  ops::gemm<float>(false, true, 1, m->cfg.vocab_size, m->cfg.dim, 1.0f, h + (T - 1) * m->cfg.dim, m->cfg.dim,
                   m->output_weight().dense, m->cfg.dim, 0.0f, lg.data(), m->cfg.vocab_size);
  for (size_t i = 0; i < lg.size(); ++i) ASSERT_NEAR(ref[T - 1][i], lg[i], 1e-4) << "logit " << i;
}

TEST(Decode, CacheErrors) {
  auto m = stories();
  EXPECT_THROW(m->make_cache(0), InputError);
  EXPECT_THROW(m->make_cache(8, DType::Q8_0), InputError);
  EXPECT_THROW(parse_kv_dtype("nonsense"), InputError);
  EXPECT_EQ(parse_kv_dtype("bf16"), DType::BF16);
  auto c = m->make_cache(2, DType::BF16);
  std::vector<float> lg(m->cfg.vocab_size);
  int32_t ids[3] = {kBos, 5, 6};
  EXPECT_THROW(m->forward_cached(c, ids, 3, lg.data()), InputError);  // more than the cache holds
  int32_t bad = static_cast<int32_t>(m->cfg.vocab_size);
  EXPECT_THROW(m->forward_cached(c, &bad, 1, lg.data()), InputError);
}
