// RoPE: gradients, inverse property, both pair layouts, and frequency scaling.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/error.h"
#include "grad_check.h"
#include "ops/rope.h"

using namespace peft;
using namespace peft::ops;
using namespace peft::test;

namespace {
RopeSpec make_spec(int64_t head_dim, int64_t rot_dim, RopeStyle style, double theta = 10000.0) {
  RopeSpec s;
  s.head_dim = head_dim;
  s.rot_dim = rot_dim;
  s.style = style;
  s.theta = theta;
  return s;
}
const std::vector<int32_t> kPos = {0, 3, 17, 100, 5};
}  // namespace

TEST(Rope, GradientMatchesFiniteDifferencesBothStyles) {
  for (RopeStyle style : {RopeStyle::Interleaved, RopeStyle::Half}) {
    for (int64_t rot : {6, 4}) {  // full and partial rotation
      SCOPED_TRACE(testing::Message() << "style " << static_cast<int>(style) << " rot " << rot);
      Rng rng(10 + rot);
      const int64_t tokens = 5, heads = 3, hd = 6;
      RopeSpec spec = make_spec(hd, rot, style, 50.0);  // small theta: every pair turns noticeably
      auto x = random_vec(rng, tokens * heads * hd), r = random_vec(rng, tokens * heads * hd);
      auto loss = [&] {
        std::vector<double> y = x;
        rope_forward_ref(y.data(), kPos.data(), tokens, heads, spec);
        return weighted_sum(r, y);
      };
      std::vector<double> dx = r;
      rope_backward(dx.data(), kPos.data(), tokens, heads, spec);
      EXPECT_LT(rel_error(dx, numeric_grad(x, loss)), 1e-6);
    }
  }
}

TEST(Rope, ForwardMatchesReferenceAndBackwardInvertsIt) {
  for (RopeStyle style : {RopeStyle::Interleaved, RopeStyle::Half}) {
    Rng rng(20);
    const int64_t tokens = 5, heads = 4, hd = 16;
    RopeSpec spec = make_spec(hd, hd, style);
    auto x = random_vec(rng, tokens * heads * hd);
    std::vector<double> yref = x;
    rope_forward_ref(yref.data(), kPos.data(), tokens, heads, spec);
    std::vector<double> yd = x;
    rope_forward(yd.data(), kPos.data(), tokens, heads, spec);
    EXPECT_LT(rel_error(yd, yref), 1e-14);
    std::vector<float> yf = to_float(x);
    rope_forward(yf.data(), kPos.data(), tokens, heads, spec);
    EXPECT_LT(rel_error(yf, yref), 1e-5);
    // The rotation is orthogonal: backward(forward(x)) = x.
    rope_backward(yd.data(), kPos.data(), tokens, heads, spec);
    EXPECT_LT(rel_error(yd, x), 1e-14);
    // Position 0 is the identity.
    std::vector<double> z = x;
    const std::vector<int32_t> zeros(tokens, 0);
    rope_forward(z.data(), zeros.data(), tokens, heads, spec);
    EXPECT_EQ(z, x);
  }
}

TEST(Rope, InterleavedEqualsHalfUnderRowPermutation) {
  // HF's converter permutes q/k rows so that half rotation on HF order equals
  // pair rotation on GGUF order: x_half[j] = x_inter[perm[j]], perm = [0,2,4,..,1,3,5,..].
  Rng rng(30);
  const int64_t tokens = 5, heads = 2, hd = 8;
  std::vector<int64_t> perm;
  for (int64_t j = 0; j < hd; j += 2) perm.push_back(j);
  for (int64_t j = 1; j < hd; j += 2) perm.push_back(j);
  auto xi = random_vec(rng, tokens * heads * hd);
  std::vector<double> xh(xi.size());
  for (int64_t th = 0; th < tokens * heads; ++th)
    for (int64_t j = 0; j < hd; ++j) xh[th * hd + j] = xi[th * hd + perm[j]];
  rope_forward(xi.data(), kPos.data(), tokens, heads, make_spec(hd, hd, RopeStyle::Interleaved));
  rope_forward(xh.data(), kPos.data(), tokens, heads, make_spec(hd, hd, RopeStyle::Half));
  double err = 0;
  for (int64_t th = 0; th < tokens * heads; ++th)
    for (int64_t j = 0; j < hd; ++j) err = std::max(err, std::abs(xh[th * hd + j] - xi[th * hd + perm[j]]));
  EXPECT_LT(err, 1e-14);
}

TEST(Rope, InvFreqPlainAndLinear) {
  RopeSpec s = make_spec(8, 8, RopeStyle::Half, 10000.0);
  auto f = s.inv_freq();
  ASSERT_EQ(f.size(), 4u);
  // theta^(−2i/8): 1, 0.1, 0.01, 0.001 for theta = 10⁴.
  const double want[4] = {1.0, 0.1, 0.01, 0.001};
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(f[i], want[i], 1e-15 * (1 + want[i]));
  s.scaling.type = "linear";
  s.scaling.factor = 4.0;
  auto g = s.inv_freq();
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(g[i], want[i] / 4.0, 1e-15);
}

TEST(Rope, Llama3ScalingFollowsTheWavelengthRule) {
  // Llama 3.1's settings: theta 5e5, head_dim 128, factor 8, low 1, high 4, 8192.
  RopeSpec s = make_spec(128, 128, RopeStyle::Half, 500000.0);
  s.scaling.type = "llama3";
  s.scaling.factor = 8.0;
  s.scaling.low_freq_factor = 1.0;
  s.scaling.high_freq_factor = 4.0;
  s.scaling.original_max_position = 8192;
  auto f = s.inv_freq();
  ASSERT_EQ(f.size(), 64u);
  const double kTwoPi = 6.283185307179586;
  int kept = 0, divided = 0, blended = 0;
  for (int i = 0; i < 64; ++i) {
    const double base = std::pow(500000.0, -static_cast<double>(i) / 64.0);
    const double wavelen = kTwoPi / base;
    double want;
    if (wavelen < 8192.0 / 4.0) {
      want = base;  // high frequency: untouched
      ++kept;
    } else if (wavelen > 8192.0 / 1.0) {
      want = base / 8.0;  // low frequency: slowed down by the factor
      ++divided;
    } else {
      const double smooth = (8192.0 / wavelen - 1.0) / (4.0 - 1.0);
      want = base * ((1.0 - smooth) / 8.0 + smooth);
      ++blended;
    }
    EXPECT_NEAR(f[i], want, 1e-14 * want) << i;
  }
  // By hand: 2π/wavelen bounds give 28.2 < i < 35.0 for the blended band.
  EXPECT_EQ(kept, 29);
  EXPECT_EQ(blended, 6);
  EXPECT_EQ(divided, 29);
  // One value worked out separately: i = 30, base = e^(−30·ln(5e5)/64) ≈ 2.131120e-3,
  // wavelen ≈ 2948.30, smooth ≈ 0.592849, scaled ≈ 0.643743 · base ≈ 1.371894e-3.
  EXPECT_NEAR(f[30], 1.371894e-3, 2e-9);
}

TEST(Rope, BadSpecsAreInputErrors) {
  std::vector<float> x(6, 1.0f);
  const int32_t pos = 1;
  EXPECT_THROW(rope_forward(x.data(), &pos, 1, 1, make_spec(6, 5, RopeStyle::Half)), InputError);
  EXPECT_THROW(rope_forward(x.data(), &pos, 1, 1, make_spec(6, 8, RopeStyle::Half)), InputError);
  RopeSpec s = make_spec(6, 6, RopeStyle::Half);
  s.scaling.type = "yarn";
  EXPECT_THROW(s.inv_freq(), InputError);
  s.scaling.type = "linear";
  s.scaling.factor = 0.0;
  EXPECT_THROW(s.inv_freq(), InputError);
}
