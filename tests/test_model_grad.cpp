// Whole-model gradient checks: the hand-written backward of the Llama model
// against central finite differences of its own forward loss, in double
// precision, on odd shapes.
#include <gtest/gtest.h>

#include <cmath>

#include "core/rng.h"
#include "model/llama.h"

using namespace peft;

namespace {

LlamaConfig tiny_config() {
  LlamaConfig c;
  c.vocab_size = 37;
  c.dim = 12;
  c.hidden_dim = 20;
  c.n_layers = 2;
  c.n_heads = 3;
  c.n_kv_heads = 1;
  c.head_dim = 4;
  c.context_length = 64;
  return c;
}

Batch tiny_batch(int64_t B, int64_t T, bool segments, uint64_t seed) {
  Rng rng(seed);
  Batch b;
  b.B = B;
  b.T = T;
  for (int64_t i = 0; i < B * T; ++i) {
    b.tokens.push_back(static_cast<int32_t>(rng.below(37)));
    b.targets.push_back(i % 5 == 3 ? -1 : static_cast<int32_t>(rng.below(37)));  // some unscored
    int64_t t = i % T;
    int32_t seg = segments && t >= 4 ? 1 : 0;
    b.positions.push_back(static_cast<int32_t>(segments && t >= 4 ? t - 4 : t));
    if (segments) b.segments.push_back(seg);
  }
  return b;
}

// Randomises every base tensor (norm weights around 1, so rmsnorm's scale matters).
void randomize(LlamaModel<double>& m, uint64_t seed) {
  Rng rng(seed);
  for (Param<double>* p : m.base_params()) {
    for (int64_t i = 0; i < p->numel(); ++i)
      p->data[i] = p->group == "norm" ? 1.0 + 0.3 * rng.normal() : 0.4 * rng.normal();
  }
}

// Checks d(loss)/d(param) for a sample of entries of every base tensor.
void check_model_grads(LlamaModel<double>& m, const Batch& b) {
  m.set_base_trainable(true);
  m.zero_grad();
  const double scale = 1.0 / static_cast<double>(b.scored());
  double loss = m.forward_backward(b, scale) * scale;
  ASSERT_TRUE(std::isfinite(loss));
  Rng pick(99);
  int checked = 0;
  for (Param<double>* p : m.base_params()) {
    for (int s = 0; s < 6; ++s) {
      int64_t i = static_cast<int64_t>(pick.below(p->numel()));
      double keep = p->data[i];
      const double h = 1e-5;
      p->data[i] = keep + h;
      double lp = m.forward_loss(b) * scale;
      p->data[i] = keep - h;
      double lm = m.forward_loss(b) * scale;
      p->data[i] = keep;
      double fd = (lp - lm) / (2 * h);
      double an = p->grad[i];
      EXPECT_NEAR(an, fd, 1e-7 + 1e-6 * std::fabs(fd)) << p->name << "[" << i << "]";
      ++checked;
    }
  }
  EXPECT_GT(checked, 50);
}

}  // namespace

TEST(ModelGrad, TinyLlamaGqaMatchesFiniteDifferences) {
  LlamaModel<double> m(tiny_config());
  randomize(m, 1);
  check_model_grads(m, tiny_batch(2, 7, false, 2));
}

TEST(ModelGrad, TiedEmbeddingsAndPackedSegments) {
  LlamaConfig c = tiny_config();
  c.tied_embeddings = true;
  LlamaModel<double> m(c);
  randomize(m, 3);
  check_model_grads(m, tiny_batch(1, 9, true, 4));
}

TEST(ModelGrad, HalfRopeBiasesAndQkNorm) {
  LlamaConfig c = tiny_config();
  c.rope_style = ops::RopeStyle::Half;
  c.qkv_bias = true;
  c.qk_norm = true;
  LlamaModel<double> m(c);
  randomize(m, 5);
  check_model_grads(m, tiny_batch(2, 7, false, 6));
}

TEST(ModelGrad, CheckpointingGivesTheSameGradients) {
  LlamaModel<double> a(tiny_config()), b(tiny_config());
  randomize(a, 7);
  randomize(b, 7);
  a.set_base_trainable(true);
  b.set_base_trainable(true);
  b.grad_checkpoint = true;
  Batch batch = tiny_batch(2, 7, false, 8);
  double la = a.forward_backward(batch, 0.1), lb = b.forward_backward(batch, 0.1);
  EXPECT_EQ(la, lb);
  auto pa = a.base_params(), pb = b.base_params();
  for (size_t k = 0; k < pa.size(); ++k)
    for (int64_t i = 0; i < pa[k]->numel(); ++i) ASSERT_EQ(pa[k]->grad[i], pb[k]->grad[i]) << pa[k]->name;
  // Checkpointing keeps less.
  EXPECT_LT(b.last_saved_bytes(), a.last_saved_bytes());
}

TEST(ModelGrad, CachedGenerationMatchesFullForward) {
  // Logits of the last token from an incremental KV-cache pass equal those
  // of the training forward on the whole prefix.
  LlamaModel<double> m(tiny_config());
  randomize(m, 9);
  Batch b = tiny_batch(1, 7, false, 10);
  auto cache = m.make_cache(16);
  std::vector<double> logits(37);
  m.forward_cached(cache, b.tokens.data(), 4, logits.data());
  for (int i = 4; i < 7; ++i) m.forward_cached(cache, b.tokens.data() + i, 1, logits.data());
  // Loss of the last position against every possible target gives −log softmax.
  for (int32_t target = 0; target < 37; target += 9) {
    Batch one = b;
    for (auto& t : one.targets) t = -1;
    one.targets[6] = target;
    double nll = m.forward_loss(one);
    double mx = -1e300, sum = 0;
    for (double z : logits) mx = std::max(mx, z);
    for (double z : logits) sum += std::exp(z - mx);
    double expect = std::log(sum) + mx - logits[target];
    EXPECT_NEAR(nll, expect, 1e-10);
  }
}
