// AdamW: float kernel vs double reference vs the closed form of two steps,
// and the sum of squares used for clipping.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "grad_check.h"
#include "ops/adamw.h"

using namespace peft;
using namespace peft::ops;
using namespace peft::test;

TEST(AdamW, TwoStepsMatchClosedForm) {
  Rng rng(40);
  const int64_t n = 33;
  auto p0 = random_vec(rng, n), g1 = random_vec(rng, n), g2 = random_vec(rng, n);
  AdamWStep s;
  s.lr = 1e-2;
  s.beta1 = 0.9;
  s.beta2 = 0.99;
  s.eps = 1e-8;
  s.weight_decay = 0.1;

  // Closed form: decay first, then step 1 has m̂ = g1, v̂ = g1²; step 2 has
  //   m̂ = (β1 g1 + g2)/(1 + β1),  v̂ = (β2 g1² + g2²)/(1 + β2).
  std::vector<double> want(n);
  const double d = 1 - s.lr * s.weight_decay;
  for (int64_t i = 0; i < n; ++i) {
    double p = p0[i] * d - s.lr * g1[i] / (std::abs(g1[i]) + s.eps);
    const double mh = (s.beta1 * g1[i] + g2[i]) / (1 + s.beta1);
    const double vh = (s.beta2 * g1[i] * g1[i] + g2[i] * g2[i]) / (1 + s.beta2);
    want[i] = p * d - s.lr * mh / (std::sqrt(vh) + s.eps);
  }

  std::vector<double> pr = p0, mr(n, 0.0), vr(n, 0.0);
  auto pf = to_float(p0);
  std::vector<float> mf(n, 0.0f), vf(n, 0.0f);
  auto g1f = to_float(g1), g2f = to_float(g2);
  s.step = 1;
  adamw_update_ref(pr.data(), g1.data(), mr.data(), vr.data(), n, s);
  adamw_update(pf.data(), g1f.data(), mf.data(), vf.data(), n, s);
  s.step = 2;
  adamw_update_ref(pr.data(), g2.data(), mr.data(), vr.data(), n, s);
  adamw_update(pf.data(), g2f.data(), mf.data(), vf.data(), n, s);
  EXPECT_LT(rel_error(pr, want), 1e-13);
  EXPECT_LT(rel_error(pf, want), 1e-6);
  // Moments are the raw (not bias-corrected) running averages.
  for (int64_t i = 0; i < n; ++i) {
    EXPECT_NEAR(mr[i], 0.9 * 0.1 * g1[i] + 0.1 * g2[i], 1e-15);
    EXPECT_NEAR(vf[i], 0.99 * 0.01 * g1[i] * g1[i] + 0.01 * g2[i] * g2[i], 1e-7);
  }
}

TEST(AdamW, FloatMatchesReferenceOverManySteps) {
  Rng rng(41);
  const int64_t n = 70000;  // threaded path
  auto p = random_vec(rng, n);
  std::vector<double> m(n, 0.0), v(n, 0.0);
  auto pf = to_float(p);
  std::vector<float> mf(n, 0.0f), vf(n, 0.0f);
  AdamWStep s;
  s.weight_decay = 0.01;
  for (int64_t t = 1; t <= 5; ++t) {
    auto g = random_vec(rng, n);
    auto gf = to_float(g);
    s.step = t;
    adamw_update_ref(p.data(), g.data(), m.data(), v.data(), n, s);
    adamw_update(pf.data(), gf.data(), mf.data(), vf.data(), n, s);
  }
  EXPECT_LT(rel_error(pf, p), 1e-6);
  EXPECT_LT(rel_error(mf, m), 1e-6);
  EXPECT_LT(rel_error(vf, v), 1e-6);
}

TEST(AdamW, SumSquares) {
  Rng rng(42);
  for (int64_t n : {0, 1, 5, 100003}) {
    auto g = random_vec(rng, n);
    auto gf = to_float(g);
    double want = 0;
    for (float x : gf) want += static_cast<double>(x) * x;
    EXPECT_NEAR(sum_squares(gf.data(), n), want, 1e-12 * (1 + want)) << n;
  }
  const float three_four[2] = {3.0f, -4.0f};
  EXPECT_EQ(sum_squares(three_four, 2), 25.0);
}
