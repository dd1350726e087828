// The decode kernels against their references on random inputs:
// gemv_f32 / gemv_stored against gemm_ref (double accumulation) on the
// dequantized weights, and attention_cached against attention_forward_ref
// with the same cache offset, for f32 and bf16 caches.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/rng.h"
#include "ops/attention.h"
#include "ops/attention_cached.h"
#include "ops/gemv.h"
#include "ops/matmul.h"

using namespace peft;

namespace {

std::vector<float> randn(int64_t n, uint64_t seed, float scale = 1.0f) {
  Rng r(seed);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = scale * static_cast<float>(r.normal());
  return v;
}

// y_ref[r] = Σ_c W[r, c] x[c] in double (gemm_ref with one row of x).
std::vector<float> reference(const std::vector<float>& W, const std::vector<float>& x, int64_t rows, int64_t cols) {
  std::vector<float> y(static_cast<size_t>(rows));
  ops::gemm_ref<float>(false, true, 1, rows, cols, 1.0f, x.data(), cols, W.data(), cols, 0.0f, y.data(), rows);
  return y;
}

// |Σ w x| rounding in float: each of the cols products and partial sums
// rounds once, so the error stays below a few ulps of Σ |w x|.
void expect_close(const std::vector<float>& got, const std::vector<float>& want, const std::vector<float>& W,
                  const std::vector<float>& x, int64_t cols, const char* what) {
  for (size_t r = 0; r < want.size(); ++r) {
    double mag = 0;
    for (int64_t c = 0; c < cols; ++c) mag += std::fabs(W[r * cols + c] * x[c]);
    ASSERT_NEAR(got[r], want[r], 1e-6 * mag + 1e-30) << what << " row " << r;
  }
}

}  // namespace

TEST(Gemv, F32EqualsReferenceGemmForEveryTailShape) {
  for (int64_t rows : {1, 3, 4, 5, 13, 64}) {
    for (int64_t cols : {1, 7, 8, 9, 16, 17, 64, 300}) {
      auto W = randn(rows * cols, 10 + rows * 1000 + cols);
      auto x = randn(cols, 20 + cols);
      std::vector<float> y(static_cast<size_t>(rows), 123.0f);  // overwritten: beta = 0 never reads y
      ops::gemv_f32(W.data(), cols, x.data(), y.data(), rows, cols);
      expect_close(y, reference(W, x, rows, cols), W, x, cols, "f32");
    }
  }
}

TEST(Gemv, F32AlphaBetaStrideAndThreadedShapes) {
  // 1000 × 768 f32 is 3 MB: split over threads. A leading dimension larger
  // than cols reads only the first cols of each row.
  const int64_t rows = 1000, cols = 768, ldw = 800;
  auto Wp = randn(rows * ldw, 1);
  std::vector<float> W(static_cast<size_t>(rows * cols));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) W[r * cols + c] = Wp[r * ldw + c];
  auto x = randn(cols, 2);
  auto y0 = randn(rows, 3);
  std::vector<float> y = y0;
  ops::gemv_f32(Wp.data(), ldw, x.data(), y.data(), rows, cols, 0.5f, 2.0f);
  auto want = reference(W, x, rows, cols);
  for (int64_t r = 0; r < rows; ++r) want[r] = 0.5f * want[r] + 2.0f * y0[r];
  expect_close(y, want, W, x, cols, "alpha/beta");
}

TEST(Gemv, GemmRoutesSingleRowsThroughGemv) {
  // ops::gemm with M = 1 and Bᵀ (a linear layer on one token) must give the
  // reference product, as every other GEMM does.
  const int64_t N = 37, K = 96;
  auto B = randn(N * K, 4);
  auto A = randn(K, 5);
  std::vector<float> C(N);
  ops::gemm<float>(false, true, 1, N, K, 1.0f, A.data(), K, B.data(), K, 0.0f, C.data(), N);
  expect_close(C, reference(B, A, N, K), B, A, K, "gemm M=1");
}

// Rows stored as `t`: random f32 encoded with from_f32 (plain types, Q8_0,
// Q4_0) or random block bytes with sane f16 scales (K-quants, which we do not
// quantize), decoded with to_f32 for the reference.
std::vector<uint8_t> random_rows(DType t, int64_t rows, int64_t cols, uint64_t seed) {
  const int64_t rb = dtype_bytes(t, cols);
  std::vector<uint8_t> bytes(static_cast<size_t>(rows * rb));
  if (t == DType::Q4_K || t == DType::Q5_K || t == DType::Q6_K) {
    Rng r(seed);
    for (auto& b : bytes) b = static_cast<uint8_t>(r.next_u64() & 255);
    const int64_t bb = dtype_block_bytes(t);
    const uint16_t d = f32_to_f16(0.0123f), dmin = f32_to_f16(0.0071f);
    for (int64_t off = 0; off < static_cast<int64_t>(bytes.size()); off += bb) {
      if (t == DType::Q6_K) {
        std::memcpy(&bytes[off + bb - 2], &d, 2);  // d last
      } else {
        std::memcpy(&bytes[off], &d, 2);           // d, dmin first
        std::memcpy(&bytes[off + 2], &dmin, 2);
      }
    }
    return bytes;
  }
  auto f = randn(rows * cols, seed, 0.1f);
  for (int64_t r = 0; r < rows; ++r) from_f32(t, f.data() + r * cols, bytes.data() + r * rb, cols);
  return bytes;
}

TEST(Gemv, StoredTypesEqualReferenceGemmOnTheirDecodedValues) {
  for (DType t : {DType::F32, DType::BF16, DType::F16, DType::Q8_0, DType::Q4_0, DType::Q4_K, DType::Q5_K,
                  DType::Q6_K}) {
    const int64_t bs = dtype_block_size(t);
    for (int64_t rows : {1, 6, 300}) {
      for (int64_t cols : {bs, 3 * bs, (bs == 1 ? 2049 : 8 * bs)}) {
        SCOPED_TRACE(std::string(dtype_name(t)) + " " + std::to_string(rows) + "x" + std::to_string(cols));
        auto bytes = random_rows(t, rows, cols, 7 + rows + cols);
        const int64_t rb = dtype_bytes(t, cols);
        std::vector<float> W(static_cast<size_t>(rows * cols));
        for (int64_t r = 0; r < rows; ++r) to_f32(t, bytes.data() + r * rb, W.data() + r * cols, cols);
        auto x = randn(cols, 9 + cols);
        std::vector<float> y(static_cast<size_t>(rows), -5.0f);
        ops::gemv_stored(t, bytes.data(), rb, x.data(), y.data(), rows, cols);
        expect_close(y, reference(W, x, rows, cols), W, x, cols, dtype_name(t));
        // beta = 1 accumulates onto y.
        std::vector<float> y2(static_cast<size_t>(rows), 1.5f);
        ops::gemv_stored(t, bytes.data(), rb, x.data(), y2.data(), rows, cols, 1.0f);
        for (int64_t r = 0; r < rows; ++r) ASSERT_NEAR(y2[r], y[r] + 1.5f, 1e-5f * (1 + std::fabs(y[r])));
      }
    }
  }
}

namespace {

// Full attention of n new tokens at offset p0 over Tk = p0 + n cached rows,
// as the reference computes it (AttnShape with Tq = n, Tk = p0 + n).
void check_cached_attention(int64_t n, int64_t p0, int64_t Hq, int64_t Hkv, int64_t D, bool bf16) {
  const int64_t Tk = p0 + n;
  auto q = randn(n * Hq * D, 31 + n);
  auto k = randn(Tk * Hkv * D, 32 + Tk);
  auto v = randn(Tk * Hkv * D, 33 + Tk);
  std::vector<uint16_t> k16(k.size()), v16(v.size());
  if (bf16) {  // the reference sees the values the bf16 cache holds
    for (size_t i = 0; i < k.size(); ++i) {
      k16[i] = f32_to_bf16(k[i]);
      v16[i] = f32_to_bf16(v[i]);
      k[i] = bf16_to_f32(k16[i]);
      v[i] = bf16_to_f32(v16[i]);
    }
  }
  ops::AttnShape rs;
  rs.Tq = n;
  rs.Tk = Tk;
  rs.Hq = Hq;
  rs.Hkv = Hkv;
  rs.D = D;
  rs.scale = 1.0 / std::sqrt(static_cast<double>(D));
  std::vector<float> want(q.size()), got(q.size());
  ops::attention_forward_ref<float>(q.data(), k.data(), v.data(), want.data(), rs);
  ops::CachedAttnShape s;
  s.n = n;
  s.p0 = p0;
  s.Hq = Hq;
  s.Hkv = Hkv;
  s.D = D;
  s.scale = rs.scale;
  if (bf16)
    ops::attention_cached<float, uint16_t>(q.data(), k16.data(), v16.data(), got.data(), s);
  else
    ops::attention_cached<float, float>(q.data(), k.data(), v.data(), got.data(), s);
  for (size_t i = 0; i < want.size(); ++i) ASSERT_NEAR(got[i], want[i], 2e-5) << "element " << i;
}

}  // namespace

TEST(AttentionCached, EqualsReferenceForDecodeAndPromptBatches) {
  for (bool bf16 : {false, true}) {
    SCOPED_TRACE(bf16 ? "bf16 cache" : "f32 cache");
    check_cached_attention(1, 0, 4, 2, 8, bf16);     // first token
    check_cached_attention(1, 200, 12, 12, 64, bf16);  // a decode step deep in the context
    check_cached_attention(1, 37, 8, 2, 12, bf16);    // D not a multiple of 8: scalar path
    check_cached_attention(17, 0, 6, 3, 16, bf16);    // a prompt from scratch
    check_cached_attention(9, 50, 8, 4, 32, bf16);    // a second prompt on a filled cache
  }
}

TEST(AttentionCached, DoubleEqualsReference) {
  const int64_t n = 5, p0 = 11, Hq = 4, Hkv = 2, D = 6, Tk = p0 + n;
  std::vector<double> q(n * Hq * D), k(Tk * Hkv * D), v(Tk * Hkv * D), want(q.size()), got(q.size());
  Rng r(3);
  for (auto* vec : {&q, &k, &v})
    for (auto& x : *vec) x = r.normal();
  ops::AttnShape rs;
  rs.Tq = n;
  rs.Tk = Tk;
  rs.Hq = Hq;
  rs.Hkv = Hkv;
  rs.D = D;
  rs.scale = 0.4;
  ops::attention_forward_ref<double>(q.data(), k.data(), v.data(), want.data(), rs);
  ops::CachedAttnShape s{n, p0, Hq, Hkv, D, 0.4};
  ops::attention_cached<double, double>(q.data(), k.data(), v.data(), got.data(), s);
  for (size_t i = 0; i < want.size(); ++i) ASSERT_NEAR(got[i], want[i], 1e-12);
}

TEST(AttentionCached, BadShapeIsAnError) {
  std::vector<float> buf(64);
  ops::CachedAttnShape s{1, 0, 3, 2, 4, 0.5};  // 3 query heads over 2 kv heads
  EXPECT_THROW((ops::attention_cached<float, float>(buf.data(), buf.data(), buf.data(), buf.data(), s)),
               std::exception);
}
