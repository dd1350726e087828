// Gradient and float-vs-reference checks for the encoder ops: LayerNorm,
// GELU (erf), bias add, pooling and L2 normalisation with truncation.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/error.h"
#include "grad_check.h"
#include "ops/bias.h"
#include "ops/gelu.h"
#include "ops/l2_normalize.h"
#include "ops/layernorm.h"
#include "ops/pooling.h"

using namespace peft;
using namespace peft::ops;
using namespace peft::test;

TEST(LayerNorm, GradientMatchesFiniteDifferences) {
  Rng rng(11);
  const int64_t rows = 7, dim = 13;
  const double eps = 1e-5;
  auto x = random_vec(rng, rows * dim, -2, 3), w = random_vec(rng, dim, 0.5, 1.5), b = random_vec(rng, dim),
       r = random_vec(rng, rows * dim);
  auto loss = [&] {
    std::vector<double> y(x.size());
    layernorm_forward_ref(x.data(), w.data(), b.data(), y.data(), rows, dim, eps);
    return weighted_sum(r, y);
  };
  std::vector<double> y(x.size()), mean(rows), rstd(rows), dx(x.size());
  std::vector<double> dw(dim, 0.25), db(dim, -0.5);  // accumulate: start from non-zero values
  layernorm_forward(x.data(), w.data(), b.data(), y.data(), mean.data(), rstd.data(), rows, dim, eps);
  std::vector<double> yref(x.size());
  layernorm_forward_ref(x.data(), w.data(), b.data(), yref.data(), rows, dim, eps);
  EXPECT_LT(rel_error(y, yref), 1e-13);
  layernorm_backward(r.data(), x.data(), w.data(), mean.data(), rstd.data(), dx.data(), dw.data(), db.data(), rows,
                     dim);
  auto ndx = numeric_grad(x, loss), ndw = numeric_grad(w, loss), ndb = numeric_grad(b, loss);
  for (double& g : ndw) g += 0.25;
  for (double& g : ndb) g -= 0.5;
  EXPECT_LT(rel_error(dx, ndx), 1e-6);
  EXPECT_LT(rel_error(dw, ndw), 1e-6);
  EXPECT_LT(rel_error(db, ndb), 1e-6);

  // dx may alias dy; frozen weight and bias pass null.
  std::vector<double> dy = r;
  layernorm_backward(dy.data(), x.data(), w.data(), mean.data(), rstd.data(), dy.data(),
                     static_cast<double*>(nullptr), static_cast<double*>(nullptr), rows, dim);
  EXPECT_LT(rel_error(dy, ndx), 1e-6);
}

TEST(LayerNorm, FloatMatchesDoubleWithLargeOffsets) {
  Rng rng(12);
  const int64_t rows = 300, dim = 96;  // threaded path
  auto x = random_vec(rng, rows * dim, -3, 3), w = random_vec(rng, dim, 0.5, 1.5), b = random_vec(rng, dim);
  for (int64_t r = 0; r < rows; ++r)  // a common offset per row, as in a residual stream
    for (int64_t j = 0; j < dim; ++j) x[r * dim + j] += 50.0 * (r % 3);
  std::vector<double> yref(x.size());
  layernorm_forward_ref(x.data(), w.data(), b.data(), yref.data(), rows, dim, 1e-12);
  auto xf = to_float(x), wf = to_float(w), bf = to_float(b);
  std::vector<float> yf(x.size()), mf(rows), rf(rows);
  layernorm_forward(xf.data(), wf.data(), bf.data(), yf.data(), mf.data(), rf.data(), rows, dim, 1e-12);
  EXPECT_LT(rel_error(yf, yref), 1e-5);
  auto dy = random_vec(rng, rows * dim);
  std::vector<double> md(rows), rd(rows), yd(x.size()), dxd(x.size()), dwd(dim, 0.0), dbd(dim, 0.0);
  layernorm_forward(x.data(), w.data(), b.data(), yd.data(), md.data(), rd.data(), rows, dim, 1e-12);
  layernorm_backward(dy.data(), x.data(), w.data(), md.data(), rd.data(), dxd.data(), dwd.data(), dbd.data(), rows,
                     dim);
  auto dyf = to_float(dy);
  std::vector<float> dxf(x.size()), dwf(dim, 0.0f), dbf(dim, 0.0f);
  layernorm_backward(dyf.data(), xf.data(), wf.data(), mf.data(), rf.data(), dxf.data(), dwf.data(), dbf.data(), rows,
                     dim);
  EXPECT_LT(rel_error(dxf, dxd), 1e-4);
  EXPECT_LT(rel_error(dwf, dwd), 1e-5);
  EXPECT_LT(rel_error(dbf, dbd), 1e-5);
  // y may alias x.
  layernorm_forward(xf.data(), wf.data(), bf.data(), xf.data(), mf.data(), rf.data(), rows, dim, 1e-12);
  EXPECT_LT(rel_error(xf, yref), 1e-5);
}

TEST(Gelu, GradientMatchesFiniteDifferences) {
  Rng rng(13);
  const int64_t n = 41;
  auto x = random_vec(rng, n, -5, 5), r = random_vec(rng, n);
  auto loss = [&] {
    std::vector<double> y(n);
    gelu_forward_ref(x.data(), y.data(), n);
    return weighted_sum(r, y);
  };
  std::vector<double> y(n), yref(n), dx(n);
  gelu_forward(x.data(), y.data(), n);
  gelu_forward_ref(x.data(), yref.data(), n);
  EXPECT_LT(rel_error(y, yref), 1e-15);
  gelu_backward(r.data(), x.data(), dx.data(), n);
  EXPECT_LT(rel_error(dx, numeric_grad(x, loss)), 1e-7);
  // A known value: gelu(1) = Φ(1) = 0.8413447460685429.
  double one = 1.0, g1 = 0;
  gelu_forward(&one, &g1, 1);
  EXPECT_NEAR(g1, 0.8413447460685429, 1e-15);
  // dx may alias dy.
  std::vector<double> d2 = r;
  gelu_backward(d2.data(), x.data(), d2.data(), n);
  EXPECT_EQ(d2, dx);
}

TEST(Gelu, FloatMatchesDoubleIncludingExtremes) {
  Rng rng(14);
  auto x = random_vec(rng, 1000, -12, 12);
  x[0] = -1e4;
  x[1] = 1e4;
  std::vector<double> yref(x.size()), dref(x.size()), ones(x.size(), 1.0);
  gelu_forward_ref(x.data(), yref.data(), 1000);
  gelu_backward(ones.data(), x.data(), dref.data(), 1000);
  auto xf = to_float(x);
  std::vector<float> yf(x.size()), df(x.size()), onesf(x.size(), 1.0f);
  gelu_forward(xf.data(), yf.data(), 1000);
  gelu_backward(onesf.data(), xf.data(), df.data(), 1000);
  for (size_t i = 0; i < x.size(); ++i) ASSERT_TRUE(std::isfinite(yf[i]) && std::isfinite(df[i])) << i;
  EXPECT_EQ(yf[0], 0.0f);
  EXPECT_EQ(yf[1], 1e4f);
  // Relative to the largest output (1e4): compare the ordinary range separately.
  std::vector<float> ys(yf.begin() + 2, yf.end());
  std::vector<double> yrs(yref.begin() + 2, yref.end());
  EXPECT_LT(rel_error(ys, yrs), 1e-6);
  EXPECT_LT(rel_error(df, dref), 1e-6);
}

TEST(BiasAdd, GradientAndReference) {
  Rng rng(15);
  const int64_t rows = 150, dim = 9;  // more than one row block
  auto y0 = random_vec(rng, rows * dim), b = random_vec(rng, dim), r = random_vec(rng, rows * dim);
  auto y = y0, yref = y0;
  bias_add_forward(y.data(), b.data(), rows, dim);
  bias_add_forward_ref(yref.data(), b.data(), rows, dim);
  EXPECT_LT(rel_error(y, yref), 1e-15);
  auto loss = [&] {
    std::vector<double> yy = y0;
    bias_add_forward_ref(yy.data(), b.data(), rows, dim);
    return weighted_sum(r, yy);
  };
  std::vector<double> db(dim, 1.5);
  bias_add_backward(r.data(), db.data(), rows, dim);
  auto ndb = numeric_grad(b, loss);
  for (double& g : ndb) g += 1.5;
  EXPECT_LT(rel_error(db, ndb), 1e-7);
}

namespace {

// Right-padded lengths 5, 2 and 0 (an all-padding row), then a left-padded row of 3.
std::vector<uint8_t> pool_mask(int64_t Tn) {
  std::vector<uint8_t> m(4 * Tn, 0);
  for (int64_t t = 0; t < 5; ++t) m[0 * Tn + t] = 1;
  for (int64_t t = 0; t < 2; ++t) m[1 * Tn + t] = 1;
  for (int64_t t = Tn - 3; t < Tn; ++t) m[3 * Tn + t] = 1;
  return m;
}

}  // namespace

TEST(Pooling, EveryModeMatchesReferenceAndFiniteDifferences) {
  const int64_t B = 4, Tn = 6, C = 5;
  const auto mask = pool_mask(Tn);
  for (PoolMode mode : {PoolMode::Cls, PoolMode::Mean, PoolMode::Last}) {
    for (const uint8_t* mk : {static_cast<const uint8_t*>(nullptr), mask.data()}) {
      SCOPED_TRACE(testing::Message() << pool_mode_name(mode) << " mask " << (mk != nullptr));
      Rng rng(16);
      auto h = random_vec(rng, B * Tn * C), r = random_vec(rng, B * C);
      std::vector<double> out(B * C), oref(B * C);
      pool_forward(h.data(), mk, out.data(), B, Tn, C, mode);
      pool_forward_ref(h.data(), mk, oref.data(), B, Tn, C, mode);
      EXPECT_LT(rel_error(out, oref), 1e-15);
      auto loss = [&] {
        std::vector<double> o(B * C);
        pool_forward_ref(h.data(), mk, o.data(), B, Tn, C, mode);
        return weighted_sum(r, o);
      };
      std::vector<double> dh(h.size(), 7.0);  // overwritten
      pool_backward(r.data(), mk, dh.data(), B, Tn, C, mode);
      EXPECT_LT(rel_error(dh, numeric_grad(h, loss)), 1e-8);
    }
  }
}

TEST(Pooling, PaddingIsIgnoredAndModesReadTheRightRows) {
  const int64_t B = 4, Tn = 6, C = 2;
  const auto mask = pool_mask(Tn);
  std::vector<double> h(B * Tn * C);
  for (int64_t i = 0; i < B * Tn * C; ++i) h[i] = static_cast<double>(i);
  std::vector<double> out(B * C);
  pool_forward(h.data(), mask.data(), out.data(), B, Tn, C, PoolMode::Mean);
  EXPECT_DOUBLE_EQ(out[0], (0 + 2 + 4 + 6 + 8) / 5.0);
  EXPECT_DOUBLE_EQ(out[2], (12 + 14) / 2.0);
  EXPECT_EQ(out[4], 0.0);  // no tokens: a zero vector, as sentence-transformers' clamp gives
  EXPECT_DOUBLE_EQ(out[6], (42 + 44 + 46) / 3.0);
  pool_forward(h.data(), mask.data(), out.data(), B, Tn, C, PoolMode::Last);
  EXPECT_EQ(out[0], 8.0);
  EXPECT_EQ(out[2], 14.0);
  EXPECT_EQ(out[4], 34.0);  // no tokens: the last position
  EXPECT_EQ(out[6], 46.0);  // left padding: the last position is a token
  pool_forward(h.data(), mask.data(), out.data(), B, Tn, C, PoolMode::Cls);
  EXPECT_EQ(out[2], 12.0);
  EXPECT_EQ(pool_mode_from_string("lasttoken"), PoolMode::Last);
  EXPECT_THROW(pool_mode_from_string("max"), InputError);
}

TEST(L2Normalize, GradientWithAndWithoutTruncation) {
  Rng rng(17);
  const int64_t rows = 5, in_dim = 11;
  for (int64_t dims : {in_dim, int64_t{4}}) {
    SCOPED_TRACE(testing::Message() << "dims " << dims);
    auto x = random_vec(rng, rows * in_dim), r = random_vec(rng, rows * dims);
    std::vector<double> y(rows * dims), yref(rows * dims), norm(rows);
    l2_normalize_forward(x.data(), y.data(), norm.data(), rows, in_dim, dims);
    l2_normalize_forward_ref(x.data(), yref.data(), rows, in_dim, dims);
    EXPECT_LT(rel_error(y, yref), 1e-15);
    for (int64_t i = 0; i < rows; ++i) {
      double ss = 0;
      for (int64_t j = 0; j < dims; ++j) ss += y[i * dims + j] * y[i * dims + j];
      EXPECT_NEAR(ss, 1.0, 1e-14);
    }
    auto loss = [&] {
      std::vector<double> yy(rows * dims);
      l2_normalize_forward_ref(x.data(), yy.data(), rows, in_dim, dims);
      return weighted_sum(r, yy);
    };
    std::vector<double> dx(x.size(), 3.0);
    l2_normalize_backward(r.data(), y.data(), norm.data(), dx.data(), rows, in_dim, dims);
    EXPECT_LT(rel_error(dx, numeric_grad(x, loss)), 1e-7);
  }
  // A zero row stays finite (divided by eps, not by 0).
  std::vector<float> z(4, 0.0f), yz(4), nz(1);
  l2_normalize_forward(z.data(), yz.data(), nz.data(), 1, 4, 4);
  for (float v : yz) EXPECT_EQ(v, 0.0f);
  EXPECT_THROW(l2_normalize_forward(z.data(), yz.data(), nz.data(), 1, 4, 5), InputError);
  EXPECT_THROW(l2_normalize_forward(z.data(), yz.data(), nz.data(), 1, 4, 0), InputError);
}
