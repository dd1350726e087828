// EncoderEmbedder's backward (pooling, Matryoshka truncation, optional
// normalisation, then the encoder) against central finite differences of its
// forward, in double precision, for every pooling mode.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "core/rng.h"
#include "embed/encoder_embedder.h"

using namespace peft;

namespace {

std::unique_ptr<EncoderEmbedder<double>> tiny(ops::PoolMode mode, bool normalize, uint64_t seed) {
  BertConfig c;
  c.arch = "roberta";
  c.vocab_size = 19;
  c.dim = 8;
  c.hidden_dim = 12;
  c.n_layers = 1;
  c.n_heads = 2;
  c.max_positions = 12;
  c.type_vocab_size = 1;
  c.pad_token_id = 1;
  auto m = std::make_unique<BertModel<double>>(c);
  Rng rng(seed);
  for (Param<double>* p : m->base_params())
    for (int64_t i = 0; i < p->numel(); ++i)
      p->data[i] = p->name.find("norm.weight") != std::string::npos ? 1.0 + 0.3 * rng.normal() : 0.5 * rng.normal();
  m->set_base_trainable(true);
  EmbeddingFolder f;
  f.pooling = mode;
  f.normalize = normalize;
  return std::make_unique<EncoderEmbedder<double>>(f, std::move(m));
}

EncoderBatch batch() {
  EncoderBatch b;
  b.B = 2;
  b.T = 5;
  b.tokens = {0, 7, 4, 9, 2, 0, 11, 2, 1, 1};
  b.mask = {1, 1, 1, 1, 1, 1, 1, 1, 0, 0};
  return b;
}

}  // namespace

TEST(EncoderEmbedder, BackwardMatchesFiniteDifferences) {
  for (ops::PoolMode mode : {ops::PoolMode::Mean, ops::PoolMode::Cls, ops::PoolMode::Last})
    for (bool normalize : {true, false})
      for (int64_t dims : {int64_t{8}, int64_t{3}}) {
        SCOPED_TRACE(testing::Message() << ops::pool_mode_name(mode) << " normalize " << normalize << " dims " << dims);
        auto e = tiny(mode, normalize, 5);
        const EncoderBatch b = batch();
        Rng rr(6);
        std::vector<double> r(b.B * dims);
        for (double& x : r) x = rr.normal();
        auto loss = [&] {
          const double* y = e->forward(b, dims, false);
          double s = 0;
          for (size_t i = 0; i < r.size(); ++i) s += r[i] * y[i];
          return s;
        };
        e->model->zero_grad();
        e->forward(b, dims, true);
        e->backward(r.data());
        int checked = 0;
        e->model->visit_trainable([&](ParamRef<double>& p) {
          for (int64_t i = 0; i < p.numel; i += 11) {
            const double keep = p.data[i], h = 1e-5;
            p.data[i] = keep + h;
            const double lp = loss();
            p.data[i] = keep - h;
            const double lm = loss();
            p.data[i] = keep;
            const double fd = (lp - lm) / (2 * h);
            ASSERT_NEAR(p.grad[i], fd, 1e-8 + 1e-6 * std::fabs(fd)) << p.name << "[" << i << "]";
            ++checked;
          }
        });
        EXPECT_GT(checked, 50);
        if (normalize)  // a unit vector at every truncation
          for (int64_t row = 0; row < b.B; ++row) {
            const double* y = e->forward(b, dims, false) + row * dims;
            double ss = 0;
            for (int64_t j = 0; j < dims; ++j) ss += y[j] * y[j];
            EXPECT_NEAR(ss, 1.0, 1e-12);
          }
      }
}

TEST(EncoderEmbedder, DimsOutsideTheModelAreInputErrors) {
  auto e = tiny(ops::PoolMode::Mean, true, 7);
  EXPECT_THROW(e->forward(batch(), 9, false), InputError);
  EXPECT_THROW(e->forward(batch(), -1, false), InputError);
  try {
    e->resolve_dims(9);
  } catch (const InputError& err) {
    EXPECT_EQ(std::string(err.what()).rfind("[embed] ", 0), 0u) << err.what();
  }
}
