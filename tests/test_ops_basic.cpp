// Gradient and float-vs-reference checks for RMSNorm, SwiGLU and the embedding.
#include <gtest/gtest.h>

#include <vector>

#include "core/error.h"
#include "grad_check.h"
#include "ops/embedding.h"
#include "ops/rmsnorm.h"
#include "ops/swiglu.h"

using namespace peft;
using namespace peft::ops;
using namespace peft::test;

TEST(RmsNorm, GradientMatchesFiniteDifferences) {
  Rng rng(1);
  const int64_t rows = 7, dim = 12;
  const double eps = 1e-5;
  auto x = random_vec(rng, rows * dim), w = random_vec(rng, dim, 0.5, 1.5), r = random_vec(rng, rows * dim);
  auto loss = [&] {
    std::vector<double> y(x.size());
    rmsnorm_forward_ref(x.data(), w.data(), y.data(), rows, dim, eps);
    return weighted_sum(r, y);
  };
  std::vector<double> y(x.size()), rstd(rows), dx(x.size());
  std::vector<double> dw(dim, 0.25);  // dw accumulates: start from a non-zero value
  rmsnorm_forward(x.data(), w.data(), y.data(), rstd.data(), rows, dim, eps);
  rmsnorm_backward(r.data(), x.data(), w.data(), rstd.data(), dx.data(), dw.data(), rows, dim);
  auto ndx = numeric_grad(x, loss);
  auto ndw = numeric_grad(w, loss);
  for (double& g : ndw) g += 0.25;
  EXPECT_LT(rel_error(dx, ndx), 1e-6);
  EXPECT_LT(rel_error(dw, ndw), 1e-6);

  // dx may alias dy, and a null dw (frozen weight) is allowed.
  std::vector<double> dy = r;
  rmsnorm_backward(dy.data(), x.data(), w.data(), rstd.data(), dy.data(), static_cast<double*>(nullptr), rows, dim);
  EXPECT_LT(rel_error(dy, ndx), 1e-6);
}

TEST(RmsNorm, FloatMatchesDoubleReference) {
  Rng rng(2);
  const int64_t rows = 300, dim = 96;  // big enough to take the threaded path
  auto x = random_vec(rng, rows * dim, -3, 3), w = random_vec(rng, dim, 0.5, 1.5);
  std::vector<double> yref(x.size());
  rmsnorm_forward_ref(x.data(), w.data(), yref.data(), rows, dim, 1e-6);
  auto xf = to_float(x), wf = to_float(w);
  std::vector<float> yf(x.size()), rstd(rows);
  rmsnorm_forward(xf.data(), wf.data(), yf.data(), rstd.data(), rows, dim, 1e-6);
  EXPECT_LT(rel_error(yf, yref), 1e-5);
  // Backward in float against the double kernel (itself checked above).
  auto dy = random_vec(rng, rows * dim);
  std::vector<double> rstd_d(rows), yd(x.size()), dxd(x.size()), dwd(dim, 0.0);
  rmsnorm_forward(x.data(), w.data(), yd.data(), rstd_d.data(), rows, dim, 1e-6);
  rmsnorm_backward(dy.data(), x.data(), w.data(), rstd_d.data(), dxd.data(), dwd.data(), rows, dim);
  auto dyf = to_float(dy);
  std::vector<float> dxf(x.size()), dwf(dim, 0.0f);
  rmsnorm_backward(dyf.data(), xf.data(), wf.data(), rstd.data(), dxf.data(), dwf.data(), rows, dim);
  EXPECT_LT(rel_error(dxf, dxd), 1e-5);
  EXPECT_LT(rel_error(dwf, dwd), 1e-5);
  // y may alias x.
  rmsnorm_forward(xf.data(), wf.data(), xf.data(), rstd.data(), rows, dim, 1e-6);
  EXPECT_LT(rel_error(xf, yref), 1e-5);
}

TEST(SwiGlu, GradientMatchesFiniteDifferences) {
  Rng rng(3);
  const int64_t n = 37;
  auto g = random_vec(rng, n, -6, 6), u = random_vec(rng, n, -2, 2), r = random_vec(rng, n);
  auto loss = [&] {
    std::vector<double> h(n);
    swiglu_forward_ref(g.data(), u.data(), h.data(), n);
    return weighted_sum(r, h);
  };
  std::vector<double> dg(n), du(n);
  swiglu_backward(r.data(), g.data(), u.data(), dg.data(), du.data(), n);
  EXPECT_LT(rel_error(dg, numeric_grad(g, loss)), 1e-6);
  EXPECT_LT(rel_error(du, numeric_grad(u, loss)), 1e-6);
  // In place: dg over g and du over u.
  std::vector<double> g2 = g, u2 = u;
  swiglu_backward(r.data(), g2.data(), u2.data(), g2.data(), u2.data(), n);
  EXPECT_LT(rel_error(g2, dg), 1e-15);
  EXPECT_LT(rel_error(u2, du), 1e-15);
}

TEST(SwiGlu, FloatMatchesDoubleReferenceIncludingExtremes) {
  Rng rng(4);
  auto g = random_vec(rng, 1000, -20, 20), u = random_vec(rng, 1000, -3, 3);
  g[0] = -200;  // exp(200) overflows float: silu must still be a clean 0
  g[1] = 200;
  std::vector<double> href(g.size());
  swiglu_forward_ref(g.data(), u.data(), href.data(), 1000);
  auto gf = to_float(g), uf = to_float(u);
  std::vector<float> hf(g.size()), dg(g.size()), du(g.size()), dh(g.size(), 1.0f);
  swiglu_forward(gf.data(), uf.data(), hf.data(), 1000);
  EXPECT_LT(rel_error(hf, href), 1e-5);
  swiglu_backward(dh.data(), gf.data(), uf.data(), dg.data(), du.data(), 1000);
  for (size_t i = 0; i < dg.size(); ++i) {
    ASSERT_TRUE(std::isfinite(dg[i])) << i;
    ASSERT_TRUE(std::isfinite(du[i])) << i;
  }
  std::vector<double> ones(g.size(), 1.0), dgd(g.size()), dud(g.size());
  swiglu_backward(ones.data(), g.data(), u.data(), dgd.data(), dud.data(), 1000);
  EXPECT_LT(rel_error(dg, dgd), 1e-5);
  EXPECT_LT(rel_error(du, dud), 1e-5);
}

TEST(Embedding, GatherAndScatterAddWithRepeats) {
  Rng rng(5);
  const int64_t vocab = 11, dim = 70, n = 9;  // dim spans two column blocks
  const std::vector<int32_t> ids = {3, 0, 10, 3, 3, 7, 0, 5, 9};
  auto W = random_vec(rng, vocab * dim), r = random_vec(rng, n * dim);
  std::vector<double> y(n * dim);
  embedding_forward(W.data(), ids.data(), y.data(), n, vocab, dim);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < dim; ++c) ASSERT_EQ(y[i * dim + c], W[ids[i] * dim + c]);
  auto loss = [&] {
    std::vector<double> yy(n * dim);
    embedding_forward(W.data(), ids.data(), yy.data(), n, vocab, dim);
    return weighted_sum(r, yy);
  };
  std::vector<double> dW(vocab * dim, 0.5);
  embedding_backward(r.data(), ids.data(), dW.data(), n, vocab, dim);
  auto ndW = numeric_grad(W, loss);
  for (double& g : ndW) g += 0.5;
  EXPECT_LT(rel_error(dW, ndW), 1e-6);
}

TEST(Embedding, OutOfRangeIdsAreInputErrors) {
  std::vector<float> W(4 * 3, 1.0f), y(2 * 3, 7.0f);
  const std::vector<int32_t> bad_hi = {1, 4}, bad_lo = {-1, 0};
  EXPECT_THROW(embedding_forward(W.data(), bad_hi.data(), y.data(), 2, 4, 3), InputError);
  EXPECT_THROW(embedding_forward(W.data(), bad_lo.data(), y.data(), 2, 4, 3), InputError);
  EXPECT_THROW(embedding_backward(y.data(), bad_hi.data(), W.data(), 2, 4, 3), InputError);
  for (float v : y) EXPECT_EQ(v, 7.0f);  // nothing written before the check
  try {
    embedding_forward(W.data(), bad_hi.data(), y.data(), 2, 4, 3);
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("[embedding] ", 0), 0u) << e.what();
  }
}
