// Method conformance and gradient checks for the adapters (DESIGN.md test
// tiers 1 and 3), on a standalone random base with odd shapes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "adapter_test_util.h"
#include "adapters/delta_lora.h"
#include "adapters/lora.h"
#include "adapters/lora_fa.h"
#include "adapters/vera.h"

namespace peft {
namespace {

using test::gradient_check;
using test::layer_out;
using test::random_vec;

constexpr int64_t kIn = 13, kOut = 11, kN = 7;
constexpr int kR = 3;

LinearInfo info(int64_t in = kIn, int64_t out = kOut) { return LinearInfo{"blk.3.attn_q", "q", in, out}; }

LoraOptions lora_opt(double alpha = 5, double dropout = 0, bool rslora = false, std::string init = "kaiming") {
  LoraOptions o;
  o.rank = kR;
  o.alpha = alpha;
  o.dropout = dropout;
  o.rslora = rslora;
  o.init = std::move(init);
  return o;
}

template <typename T>
void randomize(std::vector<T>& v, T* p, Rng& rng, double scale = 0.5) {
  v = random_vec<T>(rng, static_cast<int64_t>(v.size()), scale);
  std::copy(v.begin(), v.end(), p);
}
template <typename T>
void randomize_n(T* p, int64_t n, Rng& rng, double scale = 0.5) {
  auto v = random_vec<T>(rng, n, scale);
  std::copy(v.begin(), v.end(), p);
}

// ---------------------------------------------------------------- gradients

TEST(LoraGrad, MatchesFiniteDifferences) {
  for (bool rs : {false, true}) {
    Rng rng(1);
    auto W = random_vec<double>(rng, kOut * kIn);
    LoraAdapter<double> a(info(), lora_opt(5, 0, rs), nullptr, rng);
    randomize_n(a.B(), kOut * kR, rng);
    gradient_check(a, W, kN, kIn, kOut, 11);
  }
}

TEST(LoraGrad, WithDropoutAndAFixedMask) {
  Rng rng(2);
  auto W = random_vec<double>(rng, kOut * kIn);
  LoraAdapter<double> a(info(), lora_opt(5, 0.3), nullptr, rng);
  randomize_n(a.B(), kOut * kR, rng);
  gradient_check(a, W, kN, kIn, kOut, 12);
}

TEST(LoraFaGrad, MatchesFiniteDifferencesWithoutKeepingX) {
  for (double p : {0.0, 0.25}) {
    Rng rng(3);
    auto W = random_vec<double>(rng, kOut * kIn);
    LoraFaAdapter<double> a(info(), lora_opt(4, p), nullptr, rng);
    EXPECT_FALSE(a.needs_input_for_backward());
    randomize_n(a.B(), kOut * kR, rng);
    gradient_check(a, W, kN, kIn, kOut, 13);  // backward receives x = null
    int visited = 0;
    a.visit_params([&](ParamRef<double>& pr) {
      ++visited;
      EXPECT_EQ(pr.group, "lora_B");
    });
    EXPECT_EQ(visited, 1);  // A is frozen
  }
}

TEST(VeraGrad, MatchesFiniteDifferences) {
  // Shared pair larger than the layer, so the slices matter.
  VeraShared<double> shared(kR, kIn + 4, kOut + 2, 7);
  for (int variant = 0; variant < 3; ++variant) {
    Rng rng(4 + variant);
    auto W = random_vec<double>(rng, kOut * kIn);
    std::vector<int32_t> perm;
    if (variant == 1)
      for (int i = 0; i < kOut; ++i) perm.push_back((i * 4 + 3) % kOut);  // 4 is coprime with 11
    VeraOptions vo;
    vo.dropout = variant == 2 ? 0.2 : 0.0;
    VeraAdapter<double> a(info(), vo, &shared, rng, perm);
    randomize_n(a.lambda_b(), kOut, rng);
    randomize_n(a.lambda_d(), kR, rng);
    gradient_check(a, W, kN, kIn, kOut, 14 + variant);
  }
}

TEST(DeltaLoraGrad, BeforeStartIsLora) {
  Rng rng(5);
  auto W = random_vec<double>(rng, kOut * kIn);
  DeltaLoraAdapter<double> a(info(), lora_opt(6), DeltaLoraOptions{2.0, 3}, nullptr, rng);
  randomize_n(a.B(), kOut * kR, rng);
  gradient_check(a, W, kN, kIn, kOut, 15);
}

TEST(DeltaLoraGrad, TelescopedInputGradAndLoraParamGrads) {
  Rng rng(6);
  auto W = random_vec<double>(rng, kOut * kIn);
  DeltaLoraAdapter<double> a(info(), lora_opt(6), DeltaLoraOptions{2.0, 0}, nullptr, rng);
  Rng rng2(6);
  random_vec<double>(rng2, kOut * kIn);
  LoraAdapter<double> plain(info(), lora_opt(6), nullptr, rng2);
  // One "step" that moves A and B, base left unwritten: the telescoped term is live.
  randomize_n(a.B(), kOut * kR, rng);
  randomize_n(a.A(), kR * kIn, rng);
  a.after_step(nullptr, 1);
  ASSERT_TRUE(a.telescoped());
  // dx must match the full delta's finite differences.
  gradient_check(a, W, kN, kIn, kOut, 16, /*params_too=*/false);
  // The parameter grads are those of s·BA alone (as when W is written).
  std::copy(a.A(), a.A() + kR * kIn, plain.A());
  std::copy(a.B(), a.B() + kOut * kR, plain.B());
  Rng xr(17);
  auto x = random_vec<double>(xr, kN * kIn), dy = random_vec<double>(xr, kN * kOut);
  for (Adapter<double>* ad : {static_cast<Adapter<double>*>(&a), static_cast<Adapter<double>*>(&plain)}) {
    ad->zero_grad();
    layer_out(*ad, W, x, kN, kIn, kOut);
    ad->backward(x.data(), dy.data(), nullptr, kN);
  }
  for (int64_t i = 0; i < kR * kIn; ++i) EXPECT_NEAR(a.grad_A()[i], plain.grad_A()[i], 1e-12);
  for (int64_t i = 0; i < kOut * kR; ++i) EXPECT_NEAR(a.grad_B()[i], plain.grad_B()[i], 1e-12);
}

// ---------------------------------------------------------- identity at init

TEST(Identity, EveryMethodStartsAsTheBase) {
  Rng rng(20);
  auto W = random_vec<float>(rng, kOut * kIn);
  auto x = random_vec<float>(rng, kN * kIn);
  std::vector<float> base(kN * kOut);
  ops::linear_forward<float>(x.data(), W.data(), base.data(), kN, kIn, kOut);
  VeraShared<float> shared(kR, kIn, kOut, 0);
  std::vector<std::unique_ptr<Adapter<float>>> all;
  all.push_back(std::make_unique<LoraAdapter<float>>(info(), lora_opt(), nullptr, rng));
  all.push_back(std::make_unique<LoraAdapter<float>>(info(), lora_opt(8, 0, false, "gaussian"), nullptr, rng));
  all.push_back(std::make_unique<LoraFaAdapter<float>>(info(), lora_opt(), nullptr, rng));
  all.push_back(std::make_unique<VeraAdapter<float>>(info(), VeraOptions{}, &shared, rng));
  all.push_back(std::make_unique<DeltaLoraAdapter<float>>(info(), lora_opt(), DeltaLoraOptions{}, nullptr, rng));
  for (auto& a : all) {
    for (bool training : {false, true}) {
      auto y = layer_out(*a, W, x, kN, kIn, kOut, training);
      for (int64_t i = 0; i < kN * kOut; ++i) ASSERT_EQ(y[i], base[i]) << a->method();
    }
  }
}

// -------------------------------------------------------------------- merge

void expect_merge_matches(Adapter<float>& a, const std::vector<float>& W, Rng& rng) {
  auto x = random_vec<float>(rng, kN * kIn);
  auto unmerged = layer_out(a, W, x, kN, kIn, kOut, false);
  std::vector<float> Wm = W;
  a.merge_into(Wm.data());
  std::vector<float> merged(kN * kOut);
  ops::linear_forward<float>(x.data(), Wm.data(), merged.data(), kN, kIn, kOut);
  bool changed = false;
  for (int64_t i = 0; i < kN * kOut; ++i) {
    EXPECT_NEAR(merged[i], unmerged[i], 1e-5) << a.method();
    changed = changed || Wm[i] != W[i];
  }
  EXPECT_TRUE(changed) << a.method() << ": the delta is zero, the check would be vacuous";
  a.unmerge_from(Wm.data());
  for (int64_t i = 0; i < kOut * kIn; ++i) EXPECT_NEAR(Wm[i], W[i], 1e-6) << a.method();
}

TEST(Merge, MergedEqualsUnmergedAndUnmergeRestores) {
  Rng rng(21);
  auto W = random_vec<float>(rng, kOut * kIn);
  LoraAdapter<float> lora(info(), lora_opt(16, 0, true), nullptr, rng);
  randomize_n(lora.B(), kOut * kR, rng);
  expect_merge_matches(lora, W, rng);
  LoraFaAdapter<float> fa(info(), lora_opt(), nullptr, rng);
  randomize_n(fa.B(), kOut * kR, rng);
  expect_merge_matches(fa, W, rng);
  VeraShared<float> shared(kR, kIn + 3, kOut + 5, 1);
  std::vector<int32_t> perm;
  for (int i = 0; i < kOut; ++i) perm.push_back(kOut - 1 - i);
  VeraAdapter<float> vera(info(), VeraOptions{}, &shared, rng, perm);
  randomize_n(vera.lambda_b(), kOut, rng);
  expect_merge_matches(vera, W, rng);
  DeltaLoraAdapter<float> dl(info(), lora_opt(), DeltaLoraOptions{2.0, 0}, nullptr, rng);
  randomize_n(dl.B(), kOut * kR, rng);
  dl.after_step(nullptr, 1);  // telescoped: merge includes λ·s·(BA − B_K A_K)
  randomize_n(dl.B(), kOut * kR, rng);
  expect_merge_matches(dl, W, rng);
}

// ---------------------------------------------------------------- memory

// What a Linear keeps for backward: x when the adapter needs it, plus the
// adapter's own buffers (Linear::saved_bytes does the same sum).
int64_t layer_saved(const Adapter<float>& a, int64_t n) {
  return (a.needs_input_for_backward() ? n * kIn * 4 : 0) + a.saved_bytes();
}

TEST(SavedBytes, LoraFaKeepsRoverInOfLora) {
  Rng rng(22);
  auto W = random_vec<float>(rng, kOut * kIn);
  auto x = random_vec<float>(rng, kN * kIn);
  LoraAdapter<float> lora(info(), lora_opt(), nullptr, rng);
  LoraFaAdapter<float> fa(info(), lora_opt(), nullptr, rng);
  EXPECT_TRUE(lora.needs_input_for_backward());
  EXPECT_FALSE(fa.needs_input_for_backward());
  layer_out(lora, W, x, kN, kIn, kOut, true);
  layer_out(fa, W, x, kN, kIn, kOut, true);
  EXPECT_EQ(lora.saved_bytes(), 0);                  // x is the Linear's, u is recomputed
  EXPECT_EQ(layer_saved(lora, kN), kN * kIn * 4);    // x [n, in]
  EXPECT_EQ(fa.saved_bytes(), kN * kR * 4);          // x·Aᵀ [n, r]
  EXPECT_EQ(layer_saved(fa, kN) * kIn, layer_saved(lora, kN) * kR);
  // Dropout does not add a stored mask.
  LoraFaAdapter<float> fad(info(), lora_opt(8, 0.5), nullptr, rng);
  layer_out(fad, W, x, kN, kIn, kOut, true);
  EXPECT_EQ(layer_saved(fad, kN), kN * kR * 4);
  LoraAdapter<float> lorad(info(), lora_opt(8, 0.5), nullptr, rng);
  layer_out(lorad, W, x, kN, kIn, kOut, true);
  EXPECT_EQ(layer_saved(lorad, kN), kN * kIn * 4);
  // Inference keeps nothing.
  layer_out(fa, W, x, kN, kIn, kOut, false);
  EXPECT_EQ(fa.saved_bytes(), 0);
}

// ---------------------------------------------------------------- scaling

TEST(Lora, ScalingAndRsLora) {
  EXPECT_DOUBLE_EQ(lora_scaling(16, 4, false), 4.0);
  EXPECT_DOUBLE_EQ(lora_scaling(16, 4, true), 8.0);
  // The forward uses it: delta = s · x Aᵀ Bᵀ, computed here by hand.
  for (bool rs : {false, true}) {
    Rng rng(23);
    LoraAdapter<double> a(info(), lora_opt(7, 0, rs), nullptr, rng);
    randomize_n(a.B(), kOut * kR, rng);
    auto x = random_vec<double>(rng, kN * kIn);
    std::vector<double> y(kN * kOut, 0.0);
    a.forward(x.data(), y.data(), kN, false);
    const double s = rs ? 7 / std::sqrt(3.0) : 7 / 3.0;
    EXPECT_DOUBLE_EQ(a.scaling(), s);
    for (int64_t t = 0; t < kN; ++t)
      for (int64_t o = 0; o < kOut; ++o) {
        double acc = 0;
        for (int k = 0; k < kR; ++k) {
          double u = 0;
          for (int64_t i = 0; i < kIn; ++i) u += x[t * kIn + i] * a.A()[k * kIn + i];
          acc += u * a.B()[o * kR + k];
        }
        EXPECT_NEAR(y[t * kOut + o], s * acc, 1e-12);
      }
  }
}

// ---------------------------------------------------------------- init

TEST(Lora, KaimingAndGaussianInit) {
  const int64_t in = 400, out = 64;
  Rng rng(24);
  LoraOptions o = lora_opt();
  o.rank = 8;
  LoraAdapter<float> k(info(in, out), o, nullptr, rng);
  const double bound = 1 / std::sqrt(static_cast<double>(in));
  double mx = 0, sumsq = 0;
  for (int64_t i = 0; i < 8 * in; ++i) {
    EXPECT_LE(std::fabs(k.A()[i]), bound);
    mx = std::max(mx, std::fabs(static_cast<double>(k.A()[i])));
    sumsq += k.A()[i] * k.A()[i];
  }
  EXPECT_GT(mx, 0.98 * bound);
  EXPECT_NEAR(std::sqrt(sumsq / (8 * in)), bound / std::sqrt(3.0), 0.05 * bound);  // U(±b) has std b/√3
  for (int64_t i = 0; i < out * 8; ++i) EXPECT_EQ(k.B()[i], 0.0f);
  o.init = "gaussian";
  LoraAdapter<float> g(info(in, out), o, nullptr, rng);
  double m = 0, ss = 0;
  for (int64_t i = 0; i < 8 * in; ++i) {
    m += g.A()[i];
    ss += g.A()[i] * g.A()[i];
  }
  m /= 8 * in;
  EXPECT_NEAR(m, 0.0, 0.01);
  EXPECT_NEAR(std::sqrt(ss / (8 * in) - m * m), 1.0 / 8, 0.006);  // PEFT: std = 1/r
}

// ---------------------------------------------------------------- dropout

TEST(Dropout, MaskIsReproducibleFromTheSeed) {
  Rng base(25);
  auto W = random_vec<float>(base, kOut * kIn);
  auto x = random_vec<float>(base, kN * kIn);
  auto make = [&] {
    Rng rng(99);
    auto a = std::make_unique<LoraAdapter<float>>(info(), lora_opt(8, 0.5), nullptr, rng);
    Rng br(5);
    randomize_n(a->B(), kOut * kR, br);
    return a;
  };
  auto a1 = make(), a2 = make();
  auto y1 = layer_out(*a1, W, x, kN, kIn, kOut), y2 = layer_out(*a2, W, x, kN, kIn, kOut);
  EXPECT_EQ(y1, y2);
  // The next training forward draws a fresh mask; eval uses none.
  auto y1b = layer_out(*a1, W, x, kN, kIn, kOut);
  EXPECT_NE(y1, y1b);
  auto e1 = layer_out(*a1, W, x, kN, kIn, kOut, false), e2 = layer_out(*a2, W, x, kN, kIn, kOut, false);
  EXPECT_EQ(e1, e2);
  // A mask drops about p of the entries and scales the rest by 1/(1−p).
  DropoutReplay m;
  Rng r(7);
  const int64_t cnt = 20000;
  std::vector<double> ones(cnt, 1.0), out(cnt);
  m.begin(r, 0.3, cnt);
  m.apply(ones.data(), out.data());
  int64_t kept = 0;
  for (double v : out) {
    if (v != 0) {
      ++kept;
      EXPECT_DOUBLE_EQ(v, 1 / 0.7);
    }
  }
  EXPECT_NEAR(static_cast<double>(kept) / cnt, 0.7, 0.015);
}

// ---------------------------------------------------------------- LoRA-FA

TEST(LoraFa, ProjectedGradient) {
  Rng rng(26);
  LoraFaAdapter<double> a(info(), lora_opt(6), nullptr, rng);
  randomize_n(a.grad_B(), kOut * kR, rng);
  std::vector<double> g(a.grad_B(), a.grad_B() + kOut * kR);
  a.project_grad();
  // Undo: g_proj · (A Aᵀ + 1e-8 I) · s² must give g back.
  const double s = a.scaling();
  for (int64_t i = 0; i < kOut; ++i)
    for (int j = 0; j < kR; ++j) {
      double acc = 0;
      for (int k = 0; k < kR; ++k) {
        double gram = k == j ? 1e-8 : 0.0;
        for (int64_t c = 0; c < kIn; ++c) gram += a.A()[k * kIn + c] * a.A()[j * kIn + c];
        acc += a.grad_B()[i * kR + k] * gram;
      }
      EXPECT_NEAR(acc * s * s, g[i * kR + j], 1e-10);
    }
}

TEST(LoraFa, ATrainsNever) {
  Rng rng(27);
  auto W = random_vec<float>(rng, kOut * kIn);
  LoraFaAdapter<float> a(info(), lora_opt(), nullptr, rng);
  std::vector<float> A0(a.A(), a.A() + kR * kIn);
  auto x = random_vec<float>(rng, kN * kIn), dy = random_vec<float>(rng, kN * kOut);
  for (int step = 0; step < 3; ++step) {
    a.zero_grad();
    layer_out(a, W, x, kN, kIn, kOut);
    a.backward(nullptr, dy.data(), nullptr, kN);
    a.visit_params([](ParamRef<float>& p) {
      for (int64_t i = 0; i < p.numel; ++i) p.data[i] -= 0.1f * p.grad[i];
    });
  }
  EXPECT_TRUE(std::equal(A0.begin(), A0.end(), a.A()));
  EXPECT_NE(a.B()[0], 0.0f);
}

}  // namespace
}  // namespace peft

namespace peft {
namespace {

// The float path runs oneDNN (with VeRA's slices as leading dimensions);
// the double path is the gradient-checked reference. Same values in both:
// forward and backward must agree to float precision.
template <typename T>
std::vector<std::unique_ptr<Adapter<T>>> every_method(const VeraShared<T>* shared, std::vector<int32_t> perm) {
  std::vector<std::unique_ptr<Adapter<T>>> v;
  Rng rng(50);  // same draws for T = float and double, so A matches to rounding
  v.push_back(std::make_unique<LoraAdapter<T>>(info(), lora_opt(5, 0.2), nullptr, rng));
  v.push_back(std::make_unique<LoraFaAdapter<T>>(info(), lora_opt(5, 0.2), nullptr, rng));
  v.push_back(std::make_unique<VeraAdapter<T>>(info(), VeraOptions{0.2, 0.1}, shared, rng, perm));
  v.push_back(std::make_unique<DeltaLoraAdapter<T>>(info(), lora_opt(5), DeltaLoraOptions{2.0, 0}, nullptr, rng));
  Rng pr(51);
  for (auto& a : v)  // nonzero trainables, same values for both types
    a->visit_params([&](ParamRef<T>& p) {
      for (int64_t i = 0; i < p.numel; ++i) p.data[i] = static_cast<T>(static_cast<float>(pr.uniform(-0.5f, 0.5f)));
    });
  return v;
}

TEST(FloatPath, MatchesTheDoubleReference) {
  const int64_t in_max = kIn + 3, out_max = kOut + 2;
  VeraShared<double> sd(kR, in_max, out_max, 4);
  std::vector<float> af(sd.A(), sd.A() + kR * in_max), bf(sd.B(), sd.B() + out_max * kR);
  VeraShared<float> sf(kR, in_max, out_max, std::move(af), std::move(bf));
  std::vector<int32_t> perm;
  for (int i = 0; i < kOut; ++i) perm.push_back((i * 5 + 2) % kOut);
  auto vd = every_method<double>(&sd, perm);
  auto vf = every_method<float>(&sf, perm);
  // Delta-LoRA in its telescoped form, so that path runs too.
  vd[3]->after_step(nullptr, 1);
  vf[3]->after_step(nullptr, 1);
  Rng rng(52);
  auto xd = random_vec<double>(rng, kN * kIn), dyd = random_vec<double>(rng, kN * kOut);
  std::vector<float> xf(xd.begin(), xd.end()), dyf(dyd.begin(), dyd.end());
  for (size_t m = 0; m < vd.size(); ++m) {
    Adapter<double>& d = *vd[m];
    Adapter<float>& f = *vf[m];
    std::vector<double> yd(kN * kOut, 0.0), dxd(kN * kIn, 0.0);
    std::vector<float> yf(kN * kOut, 0.0f), dxf(kN * kIn, 0.0f);
    d.forward(xd.data(), yd.data(), kN, true);
    f.forward(xf.data(), yf.data(), kN, true);
    d.backward(d.needs_input_for_backward() ? xd.data() : nullptr, dyd.data(), dxd.data(), kN);
    f.backward(f.needs_input_for_backward() ? xf.data() : nullptr, dyf.data(), dxf.data(), kN);
    double ymax = 0;
    for (double v : yd) ymax = std::max(ymax, std::fabs(v));
    EXPECT_GT(ymax, 1e-3) << d.method();
    for (int64_t i = 0; i < kN * kOut; ++i) EXPECT_NEAR(yf[i], yd[i], 1e-5 * (1 + ymax)) << d.method();
    for (int64_t i = 0; i < kN * kIn; ++i) EXPECT_NEAR(dxf[i], dxd[i], 1e-5 * (1 + std::fabs(dxd[i]))) << d.method();
    std::vector<std::vector<double>> gd;
    std::vector<std::vector<float>> gf;
    d.visit_params([&](ParamRef<double>& p) { gd.emplace_back(p.grad, p.grad + p.numel); });
    f.visit_params([&](ParamRef<float>& p) { gf.emplace_back(p.grad, p.grad + p.numel); });
    ASSERT_EQ(gd.size(), gf.size());
    for (size_t p = 0; p < gd.size(); ++p)
      for (size_t i = 0; i < gd[p].size(); ++i)
        EXPECT_NEAR(gf[p][i], gd[p][i], 1e-5 * (1 + std::fabs(gd[p][i]))) << d.method() << " param " << p;
  }
}

}  // namespace
}  // namespace peft
