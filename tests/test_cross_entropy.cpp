// Chunked linear + cross-entropy: gradients against finite differences of the
// full-logit reference, float against double, masking and bad targets.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/error.h"
#include "grad_check.h"
#include "ops/cross_entropy.h"

using namespace peft;
using namespace peft::ops;
using namespace peft::test;

TEST(CrossEntropy, GradientMatchesFiniteDifferences) {
  // V 37 with chunk 8: four full chunks and a partial one of 5.
  const int64_t N = 7, C = 5, V = 37, chunk = 8;
  const std::vector<int32_t> targets = {3, -1, 36, 8, -1, 0, 20};
  Rng rng(500);
  auto h = random_vec(rng, N * C, -2, 2), W = random_vec(rng, V * C, -2, 2);
  const double gs = 0.37;
  std::vector<double> lse(N), dh(N * C, 5.0), dW(V * C, 0.5);
  const double loss = linear_cross_entropy_forward(h.data(), W.data(), targets.data(), lse.data(), N, C, V, chunk);
  EXPECT_NEAR(loss, linear_cross_entropy_ref(h.data(), W.data(), targets.data(), N, C, V), 1e-12 * std::abs(loss));
  linear_cross_entropy_backward(h.data(), W.data(), targets.data(), lse.data(), gs, dh.data(), dW.data(), N, C, V,
                                chunk);
  auto f = [&] { return gs * linear_cross_entropy_ref(h.data(), W.data(), targets.data(), N, C, V); };
  auto ndh = numeric_grad(h, f);
  auto ndW = numeric_grad(W, f);
  for (double& g : ndW) g += 0.5;  // dW accumulates
  EXPECT_LT(rel_error(dh, ndh), 1e-6);
  EXPECT_LT(rel_error(dW, ndW), 1e-6);
  // Masked rows get exactly zero input gradient.
  for (int64_t c = 0; c < C; ++c) {
    EXPECT_EQ(dh[1 * C + c], 0.0);
    EXPECT_EQ(dh[4 * C + c], 0.0);
  }
  // lse of every row, masked ones too, is the logsumexp of its logits.
  for (int64_t i = 0; i < N; ++i) {
    double s = 0;
    for (int64_t v = 0; v < V; ++v) {
      double z = 0;
      for (int64_t c = 0; c < C; ++c) z += h[i * C + c] * W[v * C + c];
      s += std::exp(z);
    }
    EXPECT_NEAR(lse[i], std::log(s), 1e-12) << i;
  }
  // A frozen head (dW null) gives the same dh.
  std::vector<double> dh2(N * C);
  linear_cross_entropy_backward(h.data(), W.data(), targets.data(), lse.data(), gs, dh2.data(),
                                static_cast<double*>(nullptr), N, C, V, chunk);
  EXPECT_EQ(dh2, dh);
}

TEST(CrossEntropy, ChunkSizeDoesNotChangeTheResult) {
  const int64_t N = 9, C = 6, V = 50;
  std::vector<int32_t> targets = {0, 49, 7, 7, -1, 25, 13, 1, 48};
  Rng rng(501);
  auto h = random_vec(rng, N * C, -3, 3), W = random_vec(rng, V * C, -3, 3);
  std::vector<double> lse1(N), lse2(N), dh1(N * C), dh2(N * C), dW1(V * C, 0.0), dW2(V * C, 0.0);
  const double l1 = linear_cross_entropy_forward(h.data(), W.data(), targets.data(), lse1.data(), N, C, V, 1);
  const double l2 = linear_cross_entropy_forward(h.data(), W.data(), targets.data(), lse2.data(), N, C, V, 4096);
  EXPECT_NEAR(l1, l2, 1e-12 * std::abs(l1));
  EXPECT_LT(rel_error(lse1, lse2), 1e-14);
  linear_cross_entropy_backward(h.data(), W.data(), targets.data(), lse1.data(), 1.0, dh1.data(), dW1.data(), N, C, V, 1);
  linear_cross_entropy_backward(h.data(), W.data(), targets.data(), lse1.data(), 1.0, dh2.data(), dW2.data(), N, C, V, 4096);
  EXPECT_LT(rel_error(dh1, dh2), 1e-13);
  EXPECT_LT(rel_error(dW1, dW2), 1e-13);
}

TEST(CrossEntropy, FloatMatchesDoubleReference) {
  const int64_t N = 40, C = 64, V = 1000;
  Rng rng(502);
  auto h = random_vec(rng, N * C, -1, 1), W = random_vec(rng, V * C, -0.5, 0.5);
  std::vector<int32_t> targets(N);
  for (int64_t i = 0; i < N; ++i) targets[i] = i % 5 == 0 ? -1 : static_cast<int32_t>(rng.below(V));
  const double ref = linear_cross_entropy_ref(h.data(), W.data(), targets.data(), N, C, V);
  std::vector<double> lse(N), dh(N * C), dW(V * C, 0.0);
  linear_cross_entropy_forward(h.data(), W.data(), targets.data(), lse.data(), N, C, V, 128);
  linear_cross_entropy_backward(h.data(), W.data(), targets.data(), lse.data(), 1.0 / 32, dh.data(), dW.data(), N,
                                C, V, 128);
  auto hf = to_float(h), Wf = to_float(W);
  std::vector<float> lf(N), dhf(N * C), dWf(V * C, 0.0f);
  for (int64_t chunk : {128, 4096}) {  // partial last chunk; one chunk larger than V
    const double lossf = linear_cross_entropy_forward(hf.data(), Wf.data(), targets.data(), lf.data(), N, C, V, chunk);
    EXPECT_NEAR(lossf, ref, 1e-5 * std::abs(ref));
    EXPECT_LT(rel_error(lf, lse), 1e-5);
    std::fill(dWf.begin(), dWf.end(), 0.0f);
    linear_cross_entropy_backward(hf.data(), Wf.data(), targets.data(), lf.data(), 1.0f / 32, dhf.data(), dWf.data(),
                                  N, C, V, chunk);
    EXPECT_LT(rel_error(dhf, dh), 1e-5);
    EXPECT_LT(rel_error(dWf, dW), 1e-5);
  }
}

TEST(CrossEntropy, LargeLogitsStayFinite) {
  // Logits around ±400: exp would overflow without the running max.
  const int64_t N = 3, C = 2, V = 20;
  std::vector<float> h = {20, 0, -20, 0, 0, 20}, W(V * C);
  for (int64_t v = 0; v < V; ++v) {
    W[v * C] = static_cast<float>(v - 10);
    W[v * C + 1] = static_cast<float>(10 - v);
  }
  const std::vector<int32_t> targets = {19, 0, 5};
  std::vector<float> lse(N), dh(N * C), dW(V * C, 0.0f);
  const double loss = linear_cross_entropy_forward(h.data(), W.data(), targets.data(), lse.data(), N, C, V, 6);
  EXPECT_NEAR(loss, linear_cross_entropy_ref(h.data(), W.data(), targets.data(), N, C, V), 1e-3);
  linear_cross_entropy_backward(h.data(), W.data(), targets.data(), lse.data(), 1.0f, dh.data(), dW.data(), N, C, V, 6);
  for (float x : dh) EXPECT_TRUE(std::isfinite(x));
  for (float x : dW) EXPECT_TRUE(std::isfinite(x));
}

TEST(CrossEntropy, AllMaskedAndBadTargets) {
  const int64_t N = 2, C = 3, V = 4;
  std::vector<float> h(N * C, 1.0f), W(V * C, 0.5f), lse(N), dh(N * C, 3.0f), dW(V * C, 0.0f);
  const std::vector<int32_t> masked = {-1, -100};
  EXPECT_EQ(linear_cross_entropy_forward(h.data(), W.data(), masked.data(), lse.data(), N, C, V), 0.0);
  EXPECT_NEAR(lse[0], std::log(4.0) + 1.5, 1e-6);  // four equal logits of 1.5
  linear_cross_entropy_backward(h.data(), W.data(), masked.data(), lse.data(), 1.0f, dh.data(), dW.data(), N, C, V);
  for (float x : dh) EXPECT_EQ(x, 0.0f);
  for (float x : dW) EXPECT_EQ(x, 0.0f);
  const std::vector<int32_t> bad = {1, 4};
  EXPECT_THROW(linear_cross_entropy_forward(h.data(), W.data(), bad.data(), lse.data(), N, C, V), InputError);
  EXPECT_THROW(linear_cross_entropy_backward(h.data(), W.data(), bad.data(), lse.data(), 1.0f, dh.data(), dW.data(),
                                             N, C, V),
               InputError);
  EXPECT_THROW(linear_cross_entropy_forward(h.data(), W.data(), masked.data(), lse.data(), N, C, V, 0), InputError);
}

TEST(CrossEntropy, FusedPassMatchesFiniteDifferencesAndTheTwoPassPath) {
  // Chunk 8 over V 37: the running max grows from chunk to chunk on some rows
  // (logits rise with v for row 0), which exercises the rescaling of the
  // accumulated gradient.
  const int64_t N = 7, C = 5, V = 37;
  const std::vector<int32_t> targets = {3, -1, 36, 8, -1, 0, 20};
  Rng rng(503);
  auto h = random_vec(rng, N * C, -2, 2), W = random_vec(rng, V * C, -2, 2);
  for (int64_t v = 0; v < V; ++v) W[v * C] = 0.2 * static_cast<double>(v);
  h[0] = 3.0;
  const double gs = 0.37;
  auto f = [&] { return gs * linear_cross_entropy_ref(h.data(), W.data(), targets.data(), N, C, V); };
  const std::vector<double> ndh = numeric_grad(h, f);
  for (int64_t chunk : {1, 8, 4096}) {
    SCOPED_TRACE(testing::Message() << "chunk " << chunk);
    std::vector<double> lse(N, 7.0), dh(N * C, 5.0);
    const double loss =
        linear_cross_entropy_fused(h.data(), W.data(), targets.data(), lse.data(), gs, dh.data(), N, C, V, chunk);
    EXPECT_NEAR(loss, linear_cross_entropy_ref(h.data(), W.data(), targets.data(), N, C, V), 1e-12 * std::abs(loss));
    EXPECT_LT(rel_error(dh, ndh), 1e-6);
    for (int64_t c = 0; c < C; ++c) {  // masked rows: exactly zero
      EXPECT_EQ(dh[1 * C + c], 0.0);
      EXPECT_EQ(dh[4 * C + c], 0.0);
    }
    std::vector<double> lse2(N), dh2(N * C);
    linear_cross_entropy_forward(h.data(), W.data(), targets.data(), lse2.data(), N, C, V, chunk);
    linear_cross_entropy_backward(h.data(), W.data(), targets.data(), lse2.data(), gs, dh2.data(),
                                  static_cast<double*>(nullptr), N, C, V, chunk);
    EXPECT_LT(rel_error(dh, dh2), 1e-13);
    for (int64_t i : {0, 2, 3, 5, 6}) EXPECT_NEAR(lse[i], lse2[i], 1e-12) << i;
  }
  // Float against the double reference, large vocabulary with a partial chunk.
  const int64_t N2 = 40, C2 = 64, V2 = 1000;
  auto h2 = random_vec(rng, N2 * C2, -1, 1), W2 = random_vec(rng, V2 * C2, -0.5, 0.5);
  std::vector<int32_t> t2(N2);
  for (int64_t i = 0; i < N2; ++i) t2[i] = i % 5 == 0 ? -1 : static_cast<int32_t>(rng.below(V2));
  std::vector<double> lse(N2), dh(N2 * C2);
  const double ref = linear_cross_entropy_fused(h2.data(), W2.data(), t2.data(), lse.data(), 1.0 / 32, dh.data(), N2,
                                                C2, V2, 128);
  EXPECT_NEAR(ref, linear_cross_entropy_ref(h2.data(), W2.data(), t2.data(), N2, C2, V2), 1e-10 * std::abs(ref));
  auto hf = to_float(h2), Wf = to_float(W2);
  std::vector<float> lf(N2), dhf(N2 * C2);
  const double lossf =
      linear_cross_entropy_fused(hf.data(), Wf.data(), t2.data(), lf.data(), 1.0f / 32, dhf.data(), N2, C2, V2, 128);
  EXPECT_NEAR(lossf, ref, 1e-5 * std::abs(ref));
  EXPECT_LT(rel_error(dhf, dh), 1e-5);
  // All rows masked: zero loss, zero gradient.
  const std::vector<int32_t> masked = {-1, -1};
  std::vector<float> dz(2 * C2, 3.0f), l3(2);
  EXPECT_EQ(linear_cross_entropy_fused(hf.data(), Wf.data(), masked.data(), l3.data(), 1.0f, dz.data(), 2, C2, V2),
            0.0);
  for (float x : dz) EXPECT_EQ(x, 0.0f);
}
