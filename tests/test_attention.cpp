// Tiled attention: gradients against finite differences of the full-matrix
// reference, float against double, KV-cache offsets, packing segments, and
// the thread-split backward path.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "core/error.h"
#include "core/threads.h"
#include "grad_check.h"
#include "ops/attention.h"
#include "ops/vec_exp.h"

using namespace peft;
using namespace peft::ops;
using namespace peft::test;

namespace {

AttnShape make_shape(int64_t B, int64_t Tq, int64_t Tk, int64_t Hq, int64_t Hkv, int64_t D,
                     const int32_t* segments = nullptr) {
  AttnShape s;
  s.B = B;
  s.Tq = Tq;
  s.Tk = Tk;
  s.Hq = Hq;
  s.Hkv = Hkv;
  s.D = D;
  s.scale = 1.0 / std::sqrt(static_cast<double>(D));
  s.segments = segments;
  return s;
}

struct Inputs {
  std::vector<double> q, k, v, r;
};
Inputs random_inputs(Rng& rng, const AttnShape& s, double amp = 1.0) {
  Inputs in;
  in.q = random_vec(rng, s.B * s.Tq * s.Hq * s.D, -amp, amp);
  in.k = random_vec(rng, s.B * s.Tk * s.Hkv * s.D, -amp, amp);
  in.v = random_vec(rng, s.B * s.Tk * s.Hkv * s.D);
  in.r = random_vec(rng, s.B * s.Tq * s.Hq * s.D);
  return in;
}

struct Grads {
  std::vector<double> out, lse, dq, dk, dv;
};
Grads run_tiled(const Inputs& in, const AttnShape& s) {
  Grads g;
  g.out.resize(in.q.size());
  g.lse.resize(s.B * s.Hq * s.Tq);
  g.dq.assign(in.q.size(), 9.0);  // overwritten, not accumulated
  g.dk.assign(in.k.size(), 9.0);
  g.dv.assign(in.v.size(), 9.0);
  attention_forward(in.q.data(), in.k.data(), in.v.data(), g.out.data(), g.lse.data(), s);
  attention_backward(in.q.data(), in.k.data(), in.v.data(), g.out.data(), in.r.data(), g.lse.data(), g.dq.data(),
                     g.dk.data(), g.dv.data(), s);
  return g;
}

double ref_loss(Inputs& in, const AttnShape& s) {
  std::vector<double> out(in.q.size());
  attention_forward_ref(in.q.data(), in.k.data(), in.v.data(), out.data(), s);
  return weighted_sum(in.r, out);
}

// Restores the thread count when a test changes it.
struct ThreadGuard {
  int saved = num_threads();
  ~ThreadGuard() { set_threads(saved); }
};

}  // namespace

TEST(Attention, GradientMatchesFiniteDifferences) {
  // B 2, T 7, Hq 3, Hkv 1, D 4, as in the brief; plus Hq 4 / Hkv 2 (two groups).
  const std::vector<int32_t> segs = {0, 0, 0, 1, 1, 2, 2,   // contiguous packed examples
                                     4, 4, 7, 7, 4, 4, 7};  // ids reused out of order
  ThreadGuard guard;
  for (int threads : {1, 8}) {  // 8 makes the backward split each (b, kv head) into partials
    set_threads(threads);
    for (int64_t hkv : {1, 2}) {
      for (const int32_t* seg : {static_cast<const int32_t*>(nullptr), segs.data()}) {
        SCOPED_TRACE(testing::Message() << "threads " << threads << " Hkv " << hkv << " segments " << (seg != nullptr));
        const AttnShape s = make_shape(2, 7, 7, hkv == 1 ? 3 : 4, hkv, 4, seg);
        Rng rng(100 + hkv);
        Inputs in = random_inputs(rng, s);
        Grads g = run_tiled(in, s);
        auto loss = [&] { return ref_loss(in, s); };
        EXPECT_LT(rel_error(g.dq, numeric_grad(in.q, loss)), 1e-6);
        EXPECT_LT(rel_error(g.dk, numeric_grad(in.k, loss)), 1e-6);
        EXPECT_LT(rel_error(g.dv, numeric_grad(in.v, loss)), 1e-6);
        // The tiled forward agrees with the reference.
        std::vector<double> oref(in.q.size());
        attention_forward_ref(in.q.data(), in.k.data(), in.v.data(), oref.data(), s);
        EXPECT_LT(rel_error(g.out, oref), 1e-13);
      }
    }
  }
}

TEST(Attention, LongSequenceDirectionalDerivative) {
  // T 150 spans three query tiles; a directional derivative keeps this cheap:
  // (L(x + h·u) − L(x − h·u)) / 2h must equal Σ grad ⊙ u over q, k and v.
  std::vector<int32_t> segs(150);
  for (int64_t j = 0; j < 150; ++j) segs[j] = j < 40 ? 3 : (j < 131 ? 1 : 2);  // crosses tile edges
  ThreadGuard guard;
  for (int threads : {1, 8}) {
    for (const int32_t* seg : {static_cast<const int32_t*>(nullptr), static_cast<const int32_t*>(segs.data())}) {
      set_threads(threads);
      SCOPED_TRACE(testing::Message() << "threads " << threads << " segments " << (seg != nullptr));
      const AttnShape s = make_shape(1, 150, 150, 4, 2, 8, seg);
      Rng rng(7);
      Inputs in = random_inputs(rng, s, 2.0);
      Grads g = run_tiled(in, s);
      Inputs dir = random_inputs(rng, s);
      const double h = 1e-5;
      auto shifted = [&](double sign) {
        Inputs x = in;
        for (size_t i = 0; i < x.q.size(); ++i) x.q[i] += sign * h * dir.q[i];
        for (size_t i = 0; i < x.k.size(); ++i) x.k[i] += sign * h * dir.k[i];
        for (size_t i = 0; i < x.v.size(); ++i) x.v[i] += sign * h * dir.v[i];
        return ref_loss(x, s);
      };
      const double numeric = (shifted(1) - shifted(-1)) / (2 * h);
      const double analytic = weighted_sum(dir.q, g.dq) + weighted_sum(dir.k, g.dk) + weighted_sum(dir.v, g.dv);
      EXPECT_NEAR(analytic, numeric, 1e-6 * std::max(1.0, std::abs(numeric)));
    }
  }
}

TEST(Attention, FloatMatchesDoubleIncludingKvCacheOffset) {
  std::vector<int32_t> segs(2 * 150);
  for (int64_t j = 0; j < 150; ++j) {
    segs[j] = j < 70 ? 0 : 1;
    segs[150 + j] = j / 37;
  }
  for (int64_t tq : {150, 5, 64, 1}) {  // Tq < Tk: queries sit at positions Tk − Tq ...
    for (const int32_t* seg : {static_cast<const int32_t*>(nullptr), static_cast<const int32_t*>(segs.data())}) {
      SCOPED_TRACE(testing::Message() << "Tq " << tq << " segments " << (seg != nullptr));
      const AttnShape s = make_shape(2, tq, 150, 6, 2, 16, seg);
      Rng rng(200 + tq);
      Inputs in = random_inputs(rng, s, 1.5);
      std::vector<double> oref(in.q.size());
      attention_forward_ref(in.q.data(), in.k.data(), in.v.data(), oref.data(), s);
      auto qf = to_float(in.q), kf = to_float(in.k), vf = to_float(in.v);
      std::vector<float> of(in.q.size()), lf(s.B * s.Hq * s.Tq);
      attention_forward(qf.data(), kf.data(), vf.data(), of.data(), lf.data(), s);
      EXPECT_LT(rel_error(of, oref), 1e-5);
      std::vector<double> od(in.q.size()), ld(lf.size());
      attention_forward(in.q.data(), in.k.data(), in.v.data(), od.data(), ld.data(), s);
      EXPECT_LT(rel_error(od, oref), 1e-13);
      EXPECT_LT(rel_error(lf, ld), 1e-5);
    }
  }
}

TEST(Attention, FloatBackwardMatchesDouble) {
  std::vector<int32_t> segs(150);
  for (int64_t j = 0; j < 150; ++j) segs[j] = (j / 50) % 2;  // ids 0, 1, 0: reuse across a gap
  ThreadGuard guard;
  for (int threads : {1, 8}) {
    set_threads(threads);
    const AttnShape s = make_shape(2, 150, 150, 4, 1, 16, segs.data());
    Rng rng(300);
    Inputs in = random_inputs(rng, s, 1.5);
    Grads gd = run_tiled(in, s);
    auto qf = to_float(in.q), kf = to_float(in.k), vf = to_float(in.v), rf = to_float(in.r);
    std::vector<float> of(qf.size()), lf(gd.lse.size()), dq(qf.size()), dk(kf.size()), dv(vf.size());
    attention_forward(qf.data(), kf.data(), vf.data(), of.data(), lf.data(), s);
    attention_backward(qf.data(), kf.data(), vf.data(), of.data(), rf.data(), lf.data(), dq.data(), dk.data(),
                       dv.data(), s);
    EXPECT_LT(rel_error(dq, gd.dq), 1e-4);
    EXPECT_LT(rel_error(dk, gd.dk), 1e-4);
    EXPECT_LT(rel_error(dv, gd.dv), 1e-4);
  }
}

TEST(Attention, LargeScoresStayFinite) {
  // Scores of order 1e4: the max subtraction must keep exp in range.
  AttnShape s = make_shape(1, 70, 70, 2, 2, 4);
  s.scale = 1000.0;
  Rng rng(400);
  Inputs in = random_inputs(rng, s, 3.0);
  auto qf = to_float(in.q), kf = to_float(in.k), vf = to_float(in.v), rf = to_float(in.r);
  std::vector<float> of(qf.size()), lf(s.Hq * s.Tq), dq(qf.size()), dk(kf.size()), dv(vf.size());
  attention_forward(qf.data(), kf.data(), vf.data(), of.data(), lf.data(), s);
  attention_backward(qf.data(), kf.data(), vf.data(), of.data(), rf.data(), lf.data(), dq.data(), dk.data(),
                     dv.data(), s);
  for (auto* vec : {&of, &lf, &dq, &dk, &dv})
    for (float x : *vec) ASSERT_TRUE(std::isfinite(x));
  std::vector<double> oref(in.q.size());
  attention_forward_ref(in.q.data(), in.k.data(), in.v.data(), oref.data(), s);
  EXPECT_LT(rel_error(of, oref), 1e-3);  // near one-hot: float rounding of the scores shows
}

TEST(Attention, BadShapesAreInputErrors) {
  std::vector<float> buf(1024, 0.0f);
  AttnShape s = make_shape(1, 4, 4, 3, 2, 4);  // Hq not a multiple of Hkv
  EXPECT_THROW(attention_forward(buf.data(), buf.data(), buf.data(), buf.data(), buf.data(), s), InputError);
  s = make_shape(1, 5, 4, 2, 1, 4);  // Tq > Tk
  EXPECT_THROW(attention_forward(buf.data(), buf.data(), buf.data(), buf.data(), buf.data(), s), InputError);
  s = make_shape(1, 2, 4, 2, 1, 4);  // backward needs Tq == Tk
  EXPECT_THROW(attention_backward(buf.data(), buf.data(), buf.data(), buf.data(), buf.data(), buf.data(), buf.data(),
                                  buf.data(), buf.data(), s),
               InputError);
}

TEST(VecExp, MatchesStdExpOverTheFloatRange) {
  double worst = 0;
  for (double x = -87.0; x <= 88.0; x += 0.001953125 * 3.1) {
    const float xf = static_cast<float>(x);
    const double want = std::exp(static_cast<double>(xf));
    worst = std::max(worst, std::abs(exp_fast(xf) - want) / want);
  }
  EXPECT_LT(worst, 5e-7);
  EXPECT_EQ(exp_fast(-std::numeric_limits<float>::infinity()), 0.0f);
  EXPECT_EQ(exp_fast(-100.0f), 0.0f);
  EXPECT_EQ(exp_fast(0.0f), 1.0f);
}
