// Whole-model gradient checks for the BERT-family encoder: the hand-written
// backward (model + pooling + L2 normalisation) against central finite
// differences of the forward, in double precision, on a tiny padded batch.
#include <gtest/gtest.h>

#include <cmath>

#include "adapters/factory.h"
#include "core/error.h"
#include "core/rng.h"
#include "model/bert.h"
#include "ops/l2_normalize.h"
#include "ops/pooling.h"

using namespace peft;

namespace {

BertConfig tiny_config(const std::string& arch) {
  BertConfig c;
  c.arch = arch;
  c.vocab_size = 23;
  c.dim = 12;
  c.hidden_dim = 20;
  c.n_layers = 2;
  c.n_heads = 3;
  c.max_positions = 16;
  c.type_vocab_size = arch == "bert" ? 2 : 1;
  c.norm_eps = 1e-12;
  c.pad_token_id = arch == "bert" ? 0 : 1;
  return c;
}

// Three rows of lengths 7, 4 and 2, padded with the pad id to T = 7.
EncoderBatch tiny_batch(const BertConfig& c, uint64_t seed) {
  Rng rng(seed);
  EncoderBatch b;
  b.B = 3;
  b.T = 7;
  const int64_t len[3] = {7, 4, 2};
  for (int64_t r = 0; r < 3; ++r)
    for (int64_t t = 0; t < 7; ++t) {
      const bool on = t < len[r];
      int32_t id = c.pad_token_id;
      while (on && id == c.pad_token_id) id = static_cast<int32_t>(rng.below(c.vocab_size));
      b.tokens.push_back(id);
      b.mask.push_back(on ? 1 : 0);
      b.type_ids.push_back(c.type_vocab_size > 1 && on && t >= 3 ? 1 : 0);
    }
  return b;
}

void randomize(BertModel<double>& m, uint64_t seed) {
  Rng rng(seed);
  for (Param<double>* p : m.base_params())
    for (int64_t i = 0; i < p->numel(); ++i)
      p->data[i] = p->group == "norm" && p->name.find(".weight") != std::string::npos ? 1.0 + 0.3 * rng.normal()
                                                                                      : 0.4 * rng.normal();
}

struct Head {
  ops::PoolMode mode;
  int64_t dims;  // Matryoshka truncation
};

// L = Σ r ⊙ normalize(pool(hidden))[:, :dims]
double loss_of(BertModel<double>& m, const EncoderBatch& b, const Head& h, const std::vector<double>& r) {
  const int64_t C = m.cfg.dim;
  const double* hid = m.forward(b, false);
  std::vector<double> pooled(b.B * C), y(b.B * h.dims);
  ops::pool_forward(hid, b.mask_or_null(), pooled.data(), b.B, b.T, C, h.mode);
  ops::l2_normalize_forward(pooled.data(), y.data(), static_cast<double*>(nullptr), b.B, C, h.dims);
  double s = 0;
  for (size_t i = 0; i < y.size(); ++i) s += r[i] * y[i];
  return s;
}

void backward_of(BertModel<double>& m, const EncoderBatch& b, const Head& h, const std::vector<double>& r) {
  const int64_t C = m.cfg.dim;
  const double* hid = m.forward(b, true);
  std::vector<double> pooled(b.B * C), y(b.B * h.dims), norm(b.B), dpooled(b.B * C), dh(b.B * b.T * C);
  ops::pool_forward(hid, b.mask_or_null(), pooled.data(), b.B, b.T, C, h.mode);
  ops::l2_normalize_forward(pooled.data(), y.data(), norm.data(), b.B, C, h.dims);
  ops::l2_normalize_backward(r.data(), y.data(), norm.data(), dpooled.data(), b.B, C, h.dims);
  ops::pool_backward(dpooled.data(), b.mask_or_null(), dh.data(), b.B, b.T, C, h.mode);
  m.backward(dh.data());
}

// Compares the gradient of a sample of entries of every trainable tensor
// with central differences.
void check_grads(BertModel<double>& m, const EncoderBatch& b, const Head& h) {
  Rng rr(77);
  std::vector<double> r(b.B * h.dims);
  for (double& x : r) x = rr.normal();
  m.zero_grad();
  backward_of(m, b, h, r);
  Rng pick(99);
  int checked = 0;
  m.visit_trainable([&](ParamRef<double>& p) {
    for (int s = 0; s < 6; ++s) {
      const int64_t i = static_cast<int64_t>(pick.below(p.numel));
      const double keep = p.data[i], hstep = 1e-5;
      p.data[i] = keep + hstep;
      const double lp = loss_of(m, b, h, r);
      p.data[i] = keep - hstep;
      const double lm = loss_of(m, b, h, r);
      p.data[i] = keep;
      const double fd = (lp - lm) / (2 * hstep);
      EXPECT_NEAR(p.grad[i], fd, 1e-8 + 1e-6 * std::fabs(fd)) << p.name << "[" << i << "]";
      ++checked;
    }
  });
  EXPECT_GT(checked, 100);
}

}  // namespace

TEST(BertGrad, BertMeanPoolingPaddedBatch) {
  BertModel<double> m(tiny_config("bert"));
  randomize(m, 1);
  m.set_base_trainable(true);
  check_grads(m, tiny_batch(m.cfg, 2), {ops::PoolMode::Mean, 12});
}

TEST(BertGrad, XlmRobertaClsPoolingTruncated) {
  BertModel<double> m(tiny_config("xlm-roberta"));
  randomize(m, 3);
  m.set_base_trainable(true);
  check_grads(m, tiny_batch(m.cfg, 4), {ops::PoolMode::Cls, 5});
}

TEST(BertGrad, LastTokenPoolingAndLoraOnEveryLinear) {
  BertModel<double> m(tiny_config("bert"));
  randomize(m, 5);
  AdapterConfig ac;
  ac.method = "lora";
  ac.rank = 2;
  ac.alpha = 4;
  ac.targets = {"q", "k", "v", "o", "up", "down"};
  Rng init(6);
  for (Linear<double>* lin : m.all_linears()) {
    ASSERT_TRUE(target_matches(ac, lin->info)) << lin->info.name;
    lin->adapter = make_adapter<double>(ac, lin->info, lin->weight.data.get(), nullptr, init);
  }
  // LoRA starts with B = 0; give every adapter tensor a value so both A and B
  // carry gradient.
  Rng fill(7);
  m.visit_trainable([&](ParamRef<double>& p) {
    for (int64_t i = 0; i < p.numel; ++i) p.data[i] = 0.3 * fill.normal();
  });
  // Base frozen: only the adapters are checked, and a frozen base keeps less.
  check_grads(m, tiny_batch(m.cfg, 8), {ops::PoolMode::Last, 12});
}

TEST(BertModel, PositionsFollowTheArchitecture) {
  BertModel<double> bert(tiny_config("bert")), xlmr(tiny_config("xlm-roberta"));
  EncoderBatch b = tiny_batch(xlmr.cfg, 9);
  auto p = xlmr.positions(b);
  // Row 1 has 4 tokens: positions 2, 3, 4, 5 and the padding index 1 after them.
  const std::vector<int32_t> want = {2, 3, 4, 5, 1, 1, 1};
  EXPECT_EQ(std::vector<int32_t>(p.begin() + 7, p.begin() + 14), want);
  auto q = bert.positions(b);
  EXPECT_EQ(q[7 + 6], 6);
}

TEST(BertModel, PaddingLeavesRealTokensUnchanged) {
  // The same two sequences, alone and together in one padded batch: every real
  // token's final state agrees.
  BertModel<double> m(tiny_config("xlm-roberta"));
  randomize(m, 11);
  EncoderBatch both = tiny_batch(m.cfg, 12);
  const int64_t C = m.cfg.dim;
  std::vector<double> all(m.forward(both, false), m.forward(both, false) + both.B * both.T * C);
  for (int64_t r = 0; r < 3; ++r) {
    EncoderBatch one;
    one.B = 1;
    for (int64_t t = 0; t < both.T; ++t)
      if (both.mask[r * both.T + t]) {
        one.tokens.push_back(both.tokens[r * both.T + t]);
        one.type_ids.push_back(both.type_ids[r * both.T + t]);
      }
    one.T = static_cast<int64_t>(one.tokens.size());
    const double* h = m.forward(one, false);
    double worst = 0;
    for (int64_t t = 0; t < one.T; ++t)
      for (int64_t j = 0; j < C; ++j) worst = std::max(worst, std::fabs(h[t * C + j] - all[(r * both.T + t) * C + j]));
    EXPECT_LT(worst, 1e-12) << "row " << r;
  }
}

TEST(BertModel, BadBatchesAreInputErrors) {
  BertModel<float> m(tiny_config("bert"));
  EncoderBatch b = tiny_batch(m.cfg, 13);
  b.tokens[3] = 23;
  EXPECT_THROW(m.forward(b, false), InputError);
  b = tiny_batch(m.cfg, 13);
  b.type_ids[0] = 2;
  EXPECT_THROW(m.forward(b, false), InputError);
  EncoderBatch longb;
  longb.B = 1;
  longb.T = 17;
  longb.tokens.assign(17, 5);
  EXPECT_THROW(m.forward(longb, false), InputError);
  BertConfig bad = tiny_config("bert");
  bad.n_heads = 5;
  EXPECT_THROW(BertModel<float>{bad}, InputError);
  bad = tiny_config("bert");
  bad.arch = "gpt2";
  EXPECT_THROW(BertModel<float>{bad}, InputError);
}
