// Method-specific conformance: Delta-LoRA's base update, telescoped form and
// rank-2r export; VeRA's shared projections, slicing and row order; PiSSA's
// SVD initialisation.
#include <gtest/gtest.h>

#include <cmath>

#include "adapter_test_util.h"
#include "adapters/delta_lora.h"
#include "adapters/lora.h"
#include "adapters/svd.h"
#include "adapters/vera.h"
#include "core/error.h"

namespace peft {
namespace {

using test::layer_out;
using test::random_vec;

constexpr int64_t kIn = 13, kOut = 11, kN = 7;
constexpr int kR = 3;

LinearInfo info(int64_t in = kIn, int64_t out = kOut) { return LinearInfo{"blk.1.attn_k", "k", in, out}; }

LoraOptions lora_opt(double alpha = 6, int rank = kR) {
  LoraOptions o;
  o.rank = rank;
  o.alpha = alpha;
  return o;
}

template <typename T>
void randomize_n(T* p, int64_t n, Rng& rng, double scale = 0.5) {
  auto v = random_vec<T>(rng, n, scale);
  std::copy(v.begin(), v.end(), p);
}

// B A in double: [out, in].
template <typename T>
std::vector<double> product_BA(const T* B, const T* A, int r, int64_t out, int64_t in) {
  std::vector<double> P(out * in, 0.0);
  for (int64_t i = 0; i < out; ++i)
    for (int64_t j = 0; j < in; ++j)
      for (int k = 0; k < r; ++k) P[i * in + j] += static_cast<double>(B[i * r + k]) * A[k * in + j];
  return P;
}

// A pretend optimizer step: move A and B by small random amounts.
template <typename T>
void fake_step(LoraAdapter<T>& a, Rng& rng) {
  auto dA = random_vec<T>(rng, kR * kIn, 0.05), dB = random_vec<T>(rng, kOut * kR, 0.05);
  for (int64_t i = 0; i < kR * kIn; ++i) a.A()[i] += dA[i];
  for (int64_t i = 0; i < kOut * kR; ++i) a.B()[i] += dB[i];
}

// ---------------------------------------------------------------- Delta-LoRA

TEST(DeltaLora, BaseUpdateAfterOneStepIsLambdaSDeltaBA) {
  for (int64_t K : {0, 2}) {
    Rng rng(30);
    auto W = random_vec<float>(rng, kOut * kIn);
    DeltaLoraAdapter<float> a(info(), lora_opt(), DeltaLoraOptions{2.0, K}, nullptr, rng);
    const double ls = 2.0 * a.scaling();
    for (int64_t step = 1; step <= K + 2; ++step) {
      auto before = product_BA(a.B(), a.A(), kR, kOut, kIn);
      auto W0 = W;
      fake_step(a, rng);
      a.after_step(W.data(), step);
      auto after = product_BA(a.B(), a.A(), kR, kOut, kIn);
      for (int64_t i = 0; i < kOut * kIn; ++i) {
        const double expect = step > K ? ls * (after[i] - before[i]) : 0.0;
        EXPECT_NEAR(W[i] - W0[i], expect, 2e-6) << "K " << K << " step " << step;
      }
    }
  }
}

TEST(DeltaLora, TelescopedEqualsWrittenAndRank2rExportReproduces) {
  const int64_t K = 1;
  Rng init_a(31), init_b(31);
  DeltaLoraAdapter<float> written(info(), lora_opt(), DeltaLoraOptions{2.0, K}, nullptr, init_a);
  DeltaLoraAdapter<float> tele(info(), lora_opt(), DeltaLoraOptions{2.0, K}, nullptr, init_b);
  Rng rng(32);
  const auto W0 = random_vec<float>(rng, kOut * kIn);
  auto W = W0;
  auto x = random_vec<float>(rng, kN * kIn);
  for (int64_t step = 1; step <= 5; ++step) {
    Rng upd(100 + step), upd2(100 + step);
    fake_step(written, upd);
    fake_step(tele, upd2);
    written.after_step(W.data(), step);
    tele.after_step(nullptr, step);
    auto yw = layer_out(written, W, x, kN, kIn, kOut, false);
    auto yt = layer_out(tele, W0, x, kN, kIn, kOut, false);
    for (int64_t i = 0; i < kN * kOut; ++i) EXPECT_NEAR(yw[i], yt[i], 1e-5) << "step " << step;
  }
  EXPECT_TRUE(tele.telescoped());
  EXPECT_FALSE(written.telescoped());
  // The base moved, so the check above is not trivial.
  double moved = 0;
  for (int64_t i = 0; i < kOut * kIn; ++i) moved = std::max(moved, std::fabs(static_cast<double>(W[i] - W0[i])));
  EXPECT_GT(moved, 1e-3);

  // Rank-2r export on the original base reproduces the trained model.
  auto yt = layer_out(written, W, x, kN, kIn, kOut, false);
  for (const DeltaLoraAdapter<float>* src : {&written, &tele}) {
    PlainLora<float> e = src->export_rank2r();
    ASSERT_EQ(e.rank, 2 * kR);
    EXPECT_DOUBLE_EQ(e.alpha, 2 * 6.0);  // 2·alpha keeps s = alpha/r
    Rng dummy(0);
    LoraAdapter<float> plain(info(), lora_opt(e.alpha, e.rank), nullptr, dummy);
    std::copy(e.A.begin(), e.A.end(), plain.A());
    std::copy(e.B.begin(), e.B.end(), plain.B());
    auto ye = layer_out(plain, W0, x, kN, kIn, kOut, false);
    for (int64_t i = 0; i < kN * kOut; ++i) EXPECT_NEAR(ye[i], yt[i], 1e-5);
  }
}

// A run stopped after step 3 and resumed in a fresh adapter (trainable
// tensors and visit_state tensors copied, base copied when written) goes on
// bit-identically.
TEST(DeltaLora, ResumeThroughVisitStateIsExact) {
  for (bool written : {false, true}) {
    SCOPED_TRACE(written ? "written" : "telescoped");
    Rng ra(60), rb(60);
    const LoraOptions o = lora_opt();
    const DeltaLoraOptions dopt{2.0, 1};
    DeltaLoraAdapter<float> full(info(), o, dopt, nullptr, ra);
    Rng wr(61);
    const auto W0 = random_vec<float>(wr, kOut * kIn);
    auto Wf = W0;
    auto step = [&](DeltaLoraAdapter<float>& a, std::vector<float>& W, int64_t t) {
      Rng upd(200 + t);
      fake_step(a, upd);
      a.after_step(written ? W.data() : nullptr, t);
    };
    for (int64_t t = 1; t <= 3; ++t) step(full, Wf, t);
    // Checkpoint: trainable tensors and state.
    std::vector<std::vector<float>> saved;
    full.visit_params([&](ParamRef<float>& p) { saved.emplace_back(p.data, p.data + p.numel); });
    full.visit_state([&](ParamRef<float>& p) { saved.emplace_back(p.data, p.data + p.numel); });
    auto Wr = Wf;  // the written base, when there is one
    if (!written) Wr = W0;
    DeltaLoraAdapter<float> resumed(info(), o, dopt, nullptr, rb);
    size_t i = 0;
    resumed.visit_params([&](ParamRef<float>& p) { std::copy(saved[i].begin(), saved[i].end(), p.data), ++i; });
    resumed.visit_state([&](ParamRef<float>& p) { std::copy(saved[i].begin(), saved[i].end(), p.data), ++i; });
    resumed.state_restored();
    EXPECT_EQ(resumed.steps_done(), 3);
    EXPECT_EQ(resumed.telescoped(), !written);
    for (int64_t t = 4; t <= 6; ++t) {
      step(full, Wf, t);
      step(resumed, Wr, t);
    }
    Rng xr(62);
    auto x = random_vec<float>(xr, kN * kIn);
    EXPECT_EQ(layer_out(full, Wf, x, kN, kIn, kOut, false), layer_out(resumed, Wr, x, kN, kIn, kOut, false));
    EXPECT_EQ(Wf, Wr);
  }
}

TEST(DeltaLora, RejectsDropout) {
  Rng rng(33);
  LoraOptions o = lora_opt();
  o.dropout = 0.1;
  try {
    DeltaLoraAdapter<float> a(info(), o, DeltaLoraOptions{}, nullptr, rng);
    FAIL() << "dropout accepted";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("[adapters] delta-lora: dropout must be 0", 0), 0u) << e.what();
  }
}

// ---------------------------------------------------------------- VeRA

TEST(Vera, SharedShapesBoundsAndDrawOrder) {
  const int r = 4;
  const int64_t max_in = 20, max_out = 30;
  VeraShared<float> s(r, max_in, max_out, 5);
  EXPECT_EQ(s.rank(), r);
  EXPECT_EQ(s.max_in(), max_in);
  EXPECT_EQ(s.max_out(), max_out);
  const double ba = std::sqrt(6.0 / max_in), bb = std::sqrt(6.0 / r);
  double ma = 0, mb = 0;
  for (int64_t i = 0; i < r * max_in; ++i) ma = std::max(ma, std::fabs(static_cast<double>(s.A()[i])));
  for (int64_t i = 0; i < max_out * r; ++i) mb = std::max(mb, std::fabs(static_cast<double>(s.B()[i])));
  EXPECT_LE(ma, ba);
  EXPECT_GT(ma, 0.9 * ba);
  EXPECT_LE(mb, bb);
  EXPECT_GT(mb, 0.9 * bb);
  // A comes first from the seeded stream: its first entry is the stream's
  // first uniform scaled to A's bound, and B's first entry follows A's last.
  Rng rng(5);
  const double u0 = 2.0 * rng.uniform_double() - 1.0;
  EXPECT_FLOAT_EQ(s.A()[0], static_cast<float>(ba * u0));
  for (int64_t i = 1; i < r * max_in; ++i) rng.uniform_double();
  EXPECT_FLOAT_EQ(s.B()[0], static_cast<float>(bb * (2.0 * rng.uniform_double() - 1.0)));
  // Same seed, same pair; another seed, another pair.
  VeraShared<float> same(r, max_in, max_out, 5), other(r, max_in, max_out, 6);
  EXPECT_TRUE(std::equal(s.A(), s.A() + r * max_in, same.A()));
  EXPECT_FALSE(std::equal(s.A(), s.A() + r * max_in, other.A()));
}

TEST(Vera, ParamsAreOutPlusRAndSlicesAreUsed) {
  VeraShared<double> shared(kR, kIn + 6, kOut + 4, 9);
  Rng rng(34);
  VeraAdapter<double> a(info(), VeraOptions{0.0, 0.1}, &shared, rng);
  int64_t count = 0;
  a.visit_params([&](ParamRef<double>& p) {
    count += p.numel;
    EXPECT_EQ(p.group, "vera_lambda");
  });
  EXPECT_EQ(count, kOut + kR);
  for (int k = 0; k < kR; ++k) EXPECT_DOUBLE_EQ(a.lambda_d()[k], 0.1);
  for (int64_t i = 0; i < kOut; ++i) EXPECT_DOUBLE_EQ(a.lambda_b()[i], 0.0);
  randomize_n(a.lambda_b(), kOut, rng);
  randomize_n(a.lambda_d(), kR, rng);
  auto x = random_vec<double>(rng, kN * kIn);
  std::vector<double> y(kN * kOut, 0.0);
  a.forward(x.data(), y.data(), kN, false);
  // y[t,i] = λ_b[i] Σ_k vera_B[i,k] λ_d[k] Σ_j x[t,j] vera_A[k,j], j < in.
  const int64_t mi = shared.max_in();
  for (int64_t t = 0; t < kN; ++t)
    for (int64_t i = 0; i < kOut; ++i) {
      double acc = 0;
      for (int k = 0; k < kR; ++k) {
        double u = 0;
        for (int64_t j = 0; j < kIn; ++j) u += x[t * kIn + j] * shared.A()[k * mi + j];
        acc += shared.B()[i * kR + k] * a.lambda_d()[k] * u;
      }
      EXPECT_NEAR(y[t * kOut + i], a.lambda_b()[i] * acc, 1e-12);
    }
}

TEST(Vera, RowOrderMapsOurRowsToHfRows) {
  VeraShared<double> shared(kR, kIn, kOut, 3);
  std::vector<int32_t> perm;
  for (int i = 0; i < kOut; ++i) perm.push_back((i * 3 + 5) % kOut);
  Rng r1(35), r2(35);
  VeraAdapter<double> hf(info(), VeraOptions{}, &shared, r1);
  VeraAdapter<double> ours(info(), VeraOptions{}, &shared, r2, perm);
  Rng rng(36);
  randomize_n(hf.lambda_b(), kOut, rng);
  randomize_n(hf.lambda_d(), kR, rng);
  for (int64_t i = 0; i < kOut; ++i) ours.lambda_b()[i] = hf.lambda_b()[perm[i]];
  std::copy(hf.lambda_d(), hf.lambda_d() + kR, ours.lambda_d());
  auto x = random_vec<double>(rng, kN * kIn);
  std::vector<double> yh(kN * kOut, 0.0), yo(kN * kOut, 0.0);
  hf.forward(x.data(), yh.data(), kN, false);
  ours.forward(x.data(), yo.data(), kN, false);
  for (int64_t t = 0; t < kN; ++t)
    for (int64_t i = 0; i < kOut; ++i) EXPECT_NEAR(yo[t * kOut + i], yh[t * kOut + perm[i]], 1e-12);
}

TEST(Vera, LayerThatDoesNotFitIsRejected) {
  VeraShared<float> shared(kR, kIn - 1, kOut, 0);
  Rng rng(37);
  EXPECT_THROW(VeraAdapter<float>(info(), VeraOptions{}, &shared, rng), InputError);
  VeraShared<float> ok(kR, kIn, kOut, 0);
  std::vector<int32_t> bad(kOut, 0);
  EXPECT_THROW(VeraAdapter<float>(info(), VeraOptions{}, &ok, rng, bad), InputError);
}

// ---------------------------------------------------------------- SVD, PiSSA

void check_svd(const std::vector<double>& M, int64_t m, int64_t n) {
  Svd d = svd_jacobi(M.data(), m, n);
  ASSERT_EQ(d.k, std::min(m, n));
  for (int64_t i = 0; i + 1 < d.k; ++i) EXPECT_GE(d.S[i], d.S[i + 1]);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double acc = 0;
      for (int64_t k = 0; k < d.k; ++k) acc += d.U[i * d.k + k] * d.S[k] * d.Vt[k * n + j];
      EXPECT_NEAR(acc, M[i * n + j], 1e-12);
    }
  for (int64_t a = 0; a < d.k; ++a)
    for (int64_t b = 0; b < d.k; ++b) {
      double uu = 0, vv = 0;
      for (int64_t i = 0; i < m; ++i) uu += d.U[i * d.k + a] * d.U[i * d.k + b];
      for (int64_t j = 0; j < n; ++j) vv += d.Vt[a * n + j] * d.Vt[b * n + j];
      EXPECT_NEAR(uu, a == b ? 1.0 : 0.0, 1e-12);
      EXPECT_NEAR(vv, a == b ? 1.0 : 0.0, 1e-12);
    }
}

TEST(Svd, ReconstructsWithOrthonormalFactors) {
  Rng rng(40);
  check_svd(random_vec<double>(rng, 9 * 5), 9, 5);
  check_svd(random_vec<double>(rng, 5 * 9), 5, 9);
  check_svd(random_vec<double>(rng, 6 * 6), 6, 6);
}

TEST(Svd, KnownSingularValues) {
  // 3 · u vᵀ + 1 · p qᵀ with orthonormal u ⟂ p, v ⟂ q: singular values 3, 1, 0.
  const double u[3] = {0.6, 0.8, 0}, p[3] = {0, 0, 1};
  const double v[4] = {0.5, 0.5, 0.5, 0.5}, q[4] = {0.5, -0.5, 0.5, -0.5};
  std::vector<double> M(12);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 4; ++j) M[i * 4 + j] = 3 * u[i] * v[j] + p[i] * q[j];
  Svd d = svd_jacobi(M.data(), 3, 4);
  EXPECT_NEAR(d.S[0], 3.0, 1e-13);
  EXPECT_NEAR(d.S[1], 1.0, 1e-13);
  EXPECT_NEAR(d.S[2], 0.0, 1e-13);
}

TEST(Pissa, InitIsTheTopRPartAndTheResidualKeepsTheModel) {
  Rng rng(41);
  auto W = random_vec<double>(rng, kOut * kIn);
  LoraOptions o = lora_opt(4);
  o.init = "pissa";
  LoraAdapter<double> a(info(), o, W.data(), rng);
  Svd d = svd_jacobi(W.data(), kOut, kIn);
  auto P = product_BA(a.B(), a.A(), kR, kOut, kIn);
  for (int64_t i = 0; i < kOut; ++i)
    for (int64_t j = 0; j < kIn; ++j) {
      double top = 0;
      for (int k = 0; k < kR; ++k) top += d.U[i * d.k + k] * d.S[k] * d.Vt[k * kIn + j];
      EXPECT_NEAR(a.scaling() * P[i * kIn + j], top, 1e-12);
    }
  // Residual base W − s·BA plus the adapter gives the original layer back,
  // and the residual's largest singular value is W's (r+1)-th.
  auto Wres = W;
  a.unmerge_from(Wres.data());
  Svd dr = svd_jacobi(Wres.data(), kOut, kIn);
  EXPECT_NEAR(dr.S[0], d.S[kR], 1e-12);
  auto x = random_vec<double>(rng, kN * kIn);
  std::vector<double> y0(kN * kOut);
  ops::linear_forward<double>(x.data(), W.data(), y0.data(), kN, kIn, kOut);
  auto y = layer_out(a, Wres, x, kN, kIn, kOut, false);
  for (int64_t i = 0; i < kN * kOut; ++i) EXPECT_NEAR(y[i], y0[i], 1e-12);
}

// M = Σ σ_k u_k v_kᵀ with orthonormal u, v (from an exact SVD of a random
// matrix) and chosen σ: a spectrum with a clear gap after the first 3.
std::vector<double> matrix_with_spectrum(int64_t m, int64_t n, const std::vector<double>& sigma, Rng& rng) {
  auto R = random_vec<double>(rng, m * n);
  Svd d = svd_jacobi(R.data(), m, n);
  std::vector<double> M(m * n, 0.0);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j)
      for (int64_t k = 0; k < d.k; ++k) M[i * n + j] += d.U[i * d.k + k] * sigma[k] * d.Vt[k * n + j];
  return M;
}

TEST(Svd, LowRankFindsTheTopTriplets) {
  Rng rng(43);
  const int64_t m = 30, n = 20;
  std::vector<double> sigma(n);
  for (int64_t k = 0; k < n; ++k) sigma[k] = k < 3 ? 10.0 - k : 0.5 / (k + 1);
  auto M = matrix_with_spectrum(m, n, sigma, rng);
  Svd exact = svd_jacobi(M.data(), m, n);
  Rng r2(1);
  Svd low = svd_lowrank(M.data(), m, n, 3, 6, r2);
  ASSERT_EQ(low.k, 3);
  for (int k = 0; k < 3; ++k) EXPECT_NEAR(low.S[k], exact.S[k], 1e-9);
  // The rank-3 parts agree (signs of singular vectors may differ).
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double a = 0, b = 0;
      for (int k = 0; k < 3; ++k) {
        a += low.U[i * 3 + k] * low.S[k] * low.Vt[k * n + j];
        b += exact.U[i * exact.k + k] * exact.S[k] * exact.Vt[k * n + j];
      }
      EXPECT_NEAR(a, b, 1e-9);
    }
}

TEST(Pissa, FastVariantKeepsTheModelExactly) {
  Rng rng(44);
  std::vector<double> sigma(kOut);
  for (int64_t k = 0; k < kOut; ++k) sigma[k] = k < kR ? 5.0 - k : 0.1;
  auto W = matrix_with_spectrum(kOut, kIn, sigma, rng);
  LoraOptions o = lora_opt(4);
  o.init = "pissa_niter_4";
  LoraAdapter<double> a(info(), o, W.data(), rng);
  auto P = product_BA(a.B(), a.A(), kR, kOut, kIn);
  Svd d = svd_jacobi(W.data(), kOut, kIn);
  for (int64_t i = 0; i < kOut; ++i)
    for (int64_t j = 0; j < kIn; ++j) {
      double top = 0;
      for (int k = 0; k < kR; ++k) top += d.U[i * d.k + k] * d.S[k] * d.Vt[k * kIn + j];
      EXPECT_NEAR(a.scaling() * P[i * kIn + j], top, 1e-8);
    }
  auto Wres = W;
  a.unmerge_from(Wres.data());
  auto x = random_vec<double>(rng, kN * kIn);
  std::vector<double> y0(kN * kOut);
  ops::linear_forward<double>(x.data(), W.data(), y0.data(), kN, kIn, kOut);
  auto y = layer_out(a, Wres, x, kN, kIn, kOut, false);
  for (int64_t i = 0; i < kN * kOut; ++i) EXPECT_NEAR(y[i], y0[i], 1e-12);
}

TEST(Pissa, NeedsTheBaseWeight) {
  Rng rng(42);
  LoraOptions o = lora_opt();
  o.init = "pissa";
  EXPECT_THROW(LoraAdapter<float>(info(), o, nullptr, rng), InputError);
}

}  // namespace
}  // namespace peft
