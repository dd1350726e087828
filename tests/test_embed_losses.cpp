// The embedding losses (embed/loss*.h): each against an independent
// double-precision reference written here from sentence-transformers'
// definitions, its gradient against central finite differences, and the
// float build against the double one. Also MNRL's exclusion of duplicate
// positives and Matryoshka's truncation.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/error.h"
#include "embed/loss.h"
#include "embed/loss_matryoshka.h"
#include "grad_check.h"

using namespace peft;
using namespace peft::test;

namespace {

using Vec = std::vector<double>;

double ref_cos(const double* a, const double* b, int64_t D) {
  double ab = 0, aa = 0, bb = 0;
  for (int64_t k = 0; k < D; ++k) {
    ab += a[k] * b[k];
    aa += a[k] * a[k];
    bb += b[k] * b[k];
  }
  return ab / std::sqrt(aa) / std::sqrt(bb);
}

// MNRL straight from its definition: cross-entropy of the own positive over
// all allowed candidates at scale 20.
double ref_mnrl(const Vec& e, int64_t n, int64_t cols, int64_t D, const std::vector<uint8_t>* ex) {
  const int64_t C = (cols - 1) * n;
  double L = 0;
  for (int64_t i = 0; i < n; ++i) {
    double z = 0;
    for (int64_t j = 0; j < C; ++j)
      if (j == i || !ex || !(*ex)[i * C + j]) z += std::exp(20 * ref_cos(&e[i * D], &e[(n + j) * D], D));
    L += std::log(z) - 20 * ref_cos(&e[i * D], &e[(n + i) * D], D);
  }
  return L / n;
}

double ref_cosent(const Vec& e, const Vec& y, int64_t n, int64_t D) {
  double z = 1;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j)
      if (y[i] < y[j])
        z += std::exp(20 * (ref_cos(&e[i * D], &e[(n + i) * D], D) - ref_cos(&e[j * D], &e[(n + j) * D], D)));
  return std::log(z);
}

double ref_cosine(const Vec& e, const Vec& y, int64_t n, int64_t D) {
  double L = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double r = ref_cos(&e[i * D], &e[(n + i) * D], D) - y[i];
    L += r * r;
  }
  return L / n;
}

double ref_dist(const double* a, const double* b, int64_t D) {
  double s = 0;
  for (int64_t k = 0; k < D; ++k) s += (a[k] - b[k] + 1e-6) * (a[k] - b[k] + 1e-6);
  return std::sqrt(s);
}

double ref_triplet(const Vec& e, int64_t n, int64_t D, double margin) {
  double L = 0;
  for (int64_t i = 0; i < n; ++i)
    L += std::max(0.0, ref_dist(&e[i * D], &e[(n + i) * D], D) - ref_dist(&e[i * D], &e[(2 * n + i) * D], D) + margin);
  return L / n;
}

// Checks value against `ref`, gradient against finite differences (double)
// and the float build against the double one.
void check_loss(LossKind kind, Vec e, int64_t n, int64_t cols, int64_t D, const Vec* y,
                const std::vector<uint8_t>* ex, double ref) {
  LossInput<double> in;
  in.n = n;
  in.columns = cols;
  in.dims = D;
  in.labels = y ? y->data() : nullptr;
  in.exclude = ex ? ex->data() : nullptr;
  in.emb = e.data();
  Vec g(e.size());
  const double L = embedding_loss(kind, in, g.data());
  EXPECT_NEAR(L, ref, 1e-10 * std::max(1.0, std::abs(ref))) << loss_name(kind);
  EXPECT_NEAR(embedding_loss(kind, in, static_cast<double*>(nullptr)), L, 1e-12);
  auto num = numeric_grad(e, [&] { return embedding_loss(kind, in, static_cast<double*>(nullptr)); });
  EXPECT_LT(rel_error(g, num), 1e-6) << loss_name(kind);

  std::vector<float> ef = to_float(e), yf = y ? to_float(*y) : std::vector<float>{}, gf(e.size());
  LossInput<float> inf;
  inf.n = n;
  inf.columns = cols;
  inf.dims = D;
  inf.labels = y ? yf.data() : nullptr;
  inf.exclude = in.exclude;
  inf.emb = ef.data();
  EXPECT_NEAR(embedding_loss(kind, inf, gf.data()), L, 1e-4 * std::max(1.0, std::abs(L)));
  EXPECT_LT(rel_error(gf, g), 1e-4);
}

}  // namespace

TEST(EmbedLoss, MnrlMatchesDefinitionAndGradient) {
  Rng rng(1);
  const int64_t n = 5, D = 7;
  for (int64_t cols : {2, 3, 4}) {  // pairs, one and two hard negatives
    Vec e = random_vec(rng, cols * n * D);
    // Scale the rows so the normalisation matters.
    for (int64_t r = 0; r < cols * n; ++r)
      for (int64_t k = 0; k < D; ++k) e[r * D + k] *= 0.5 + r % 3;
    check_loss(LossKind::Mnrl, e, n, cols, D, nullptr, nullptr, ref_mnrl(e, n, cols, D, nullptr));
  }
}

TEST(EmbedLoss, MnrlExcludesDuplicatePositives) {
  // Examples 0 and 2 share a positive text (so identical embeddings): without
  // the exclusion, anchor 0 is pushed away from its own answer through row 2.
  Rng rng(2);
  const int64_t n = 4, D = 6, C = n;
  Vec e = random_vec(rng, 2 * n * D);
  for (int64_t k = 0; k < D; ++k) e[(n + 2) * D + k] = e[(n + 0) * D + k];
  std::vector<uint8_t> ex(n * C, 0);
  ex[0 * C + 2] = ex[2 * C + 0] = 1;
  const double with = ref_mnrl(e, n, 2, D, &ex);
  check_loss(LossKind::Mnrl, e, n, 2, D, nullptr, &ex, with);
  EXPECT_LT(with, ref_mnrl(e, n, 2, D, nullptr));  // the false negatives raised the loss
  // The own positive is never excluded, even when marked.
  std::vector<uint8_t> diag(n * C, 0);
  diag[1 * C + 1] = 1;
  check_loss(LossKind::Mnrl, e, n, 2, D, nullptr, &diag, ref_mnrl(e, n, 2, D, nullptr));
}

TEST(EmbedLoss, CosentMatchesDefinitionAndGradient) {
  Rng rng(3);
  const int64_t n = 6, D = 5;
  Vec e = random_vec(rng, 2 * n * D);
  Vec y = {0.1, 0.8, 0.8, 0.3, 1.0, 0.0};  // ties give no pair
  check_loss(LossKind::Cosent, e, n, 2, D, &y, nullptr, ref_cosent(e, y, n, D));
  // Large scaled differences stay finite (the shift by the largest exponent).
  Vec big = e;
  for (double& v : big) v *= 100;
  LossInput<double> in{big.data(), n, 2, D, y.data(), nullptr};
  EXPECT_TRUE(std::isfinite(embedding_loss(LossKind::Cosent, in, static_cast<double*>(nullptr))));
}

TEST(EmbedLoss, CosineMatchesDefinitionAndGradient) {
  Rng rng(4);
  const int64_t n = 5, D = 9;
  Vec e = random_vec(rng, 2 * n * D), y = random_vec(rng, n, 0, 1);
  check_loss(LossKind::Cosine, e, n, 2, D, &y, nullptr, ref_cosine(e, y, n, D));
}

TEST(EmbedLoss, TripletMatchesDefinitionAndGradient) {
  Rng rng(5);
  const int64_t n = 6, D = 4;
  Vec e = random_vec(rng, 3 * n * D, -3, 3);
  // Make example 0's negative far away, so its hinge is inactive (margin 5).
  for (int64_t k = 0; k < D; ++k) e[(2 * n) * D + k] = e[k] + 10.0;
  const double ref = ref_triplet(e, n, D, 5.0);
  check_loss(LossKind::Triplet, e, n, 3, D, nullptr, nullptr, ref);
  EXPECT_EQ(ref_dist(&e[0], &e[2 * n * D], D) > ref_dist(&e[0], &e[n * D], D) + 5, true);
}

TEST(EmbedLoss, MatryoshkaIsTheWeightedSumOverPrefixes) {
  Rng rng(6);
  const int64_t n = 4, D = 8;
  const std::vector<int64_t> dims = {8, 5, 2};
  const std::vector<double> w = {1.0, 0.5, 2.0};
  for (LossKind kind : {LossKind::Mnrl, LossKind::Cosent, LossKind::Cosine, LossKind::Triplet}) {
    const int64_t cols = kind == LossKind::Triplet ? 3 : 2;
    Vec e = random_vec(rng, cols * n * D), y = random_vec(rng, n, 0, 1);
    // Reference: each prefix truncated and normalised by hand, scored by the references above.
    double ref = 0;
    for (size_t t = 0; t < dims.size(); ++t) {
      const int64_t d = dims[t];
      Vec s(static_cast<size_t>(cols * n * d));
      for (int64_t r = 0; r < cols * n; ++r) {
        double nn = 0;
        for (int64_t k = 0; k < d; ++k) nn += e[r * D + k] * e[r * D + k];
        for (int64_t k = 0; k < d; ++k) s[r * d + k] = e[r * D + k] / std::sqrt(nn);
      }
      const double l = kind == LossKind::Mnrl     ? ref_mnrl(s, n, cols, d, nullptr)
                       : kind == LossKind::Cosent ? ref_cosent(s, y, n, d)
                       : kind == LossKind::Cosine ? ref_cosine(s, y, n, d)
                                                  : ref_triplet(s, n, d, 5.0);
      ref += w[t] * l;
    }
    LossInput<double> in{e.data(), n, cols, D, y.data(), nullptr};
    Vec g(e.size());
    EXPECT_NEAR(matryoshka_loss(kind, in, dims, w, g.data()), ref, 1e-10 * std::max(1.0, ref)) << loss_name(kind);
    auto num = numeric_grad(e, [&] { return matryoshka_loss(kind, in, dims, w, static_cast<double*>(nullptr)); });
    EXPECT_LT(rel_error(g, num), 1e-6) << loss_name(kind);
  }
}

TEST(EmbedLoss, BadSettingsAreInputErrors) {
  EXPECT_THROW(parse_loss("infonce"), InputError);
  EXPECT_EQ(parse_loss("cached-mnrl"), LossKind::CachedMnrl);
  EXPECT_EQ(parse_matryoshka_dims("384,256,128"), (std::vector<int64_t>{384, 256, 128}));
  for (const char* bad : {"", "384,,128", "0", "-5", "12x", "64,64"})
    EXPECT_THROW(parse_matryoshka_dims(bad), InputError) << bad;
  Vec e(2 * 2 * 4, 0.5);
  LossInput<double> in{e.data(), 2, 2, 4, nullptr, nullptr};
  EXPECT_THROW(matryoshka_loss(LossKind::Mnrl, in, {8}, {}, static_cast<double*>(nullptr)), InputError);
  EXPECT_THROW(embedding_loss(LossKind::Cosent, in, static_cast<double*>(nullptr)), InputError);  // no scores
  EXPECT_THROW(embedding_loss(LossKind::Triplet, in, static_cast<double*>(nullptr)), InputError);  // no negative
}
