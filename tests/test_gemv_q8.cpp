// The int8 dot-product kernels of ops/gemv_q8.h:
//   - the activation quantizer: |d·q − x| ≤ d/2, the block's largest |x|
//     maps to ±127, s = d·Σq, zero and non-finite blocks;
//   - every weight type, both instruction sets (scalar always, AVX2 where the
//     CPU has it), against a double-precision product of the same math:
//     the weights decoded by to_f32 times the quantized x (x̂ = d·q);
//   - against the f32 product (gemv_stored) within the bound the activation
//     rounding allows, Σ|W|·d/2;
//   - the CPU backend sends one-row products over quantized weights here.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/error.h"
#include "core/rng.h"
#include "core/stored_matrix.h"
#include "ops/backend.h"
#include "ops/gemv.h"
#include "ops/gemv_q8.h"

using namespace peft;

namespace {

const DType kTypes[] = {DType::Q8_0, DType::Q4_0, DType::Q4_K, DType::Q5_K, DType::Q6_K};

// x with blocks of 32 of very different sizes (decode activations are not
// uniform): block b scaled by 2^(b mod 7 − 3), one block all zero.
std::vector<float> activation(int64_t n, uint64_t seed) {
  Rng r(seed);
  std::vector<float> x(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) x[i] = std::ldexp(static_cast<float>(r.normal()), static_cast<int>((i / 32) % 7) - 3);
  if (n >= 64)
    for (int i = 32; i < 64; ++i) x[i] = 0.0f;
  return x;
}

// Rows of `t`: either random f32 through our quantizers (realistic blocks) or
// random bytes with a sane f16 scale written where the format keeps it (every
// quant and packed scale value occurs, Q8_0's −128 included).
std::vector<uint8_t> weight_rows(DType t, int64_t rows, int64_t cols, uint64_t seed, bool random_bytes) {
  const int64_t rb = dtype_bytes(t, cols), bb = dtype_block_bytes(t);
  std::vector<uint8_t> bytes(static_cast<size_t>(rows * rb));
  Rng r(seed);
  if (!random_bytes) {
    std::vector<float> w(static_cast<size_t>(rows * cols));
    for (auto& v : w) v = 0.05f * static_cast<float>(r.normal());
    for (int64_t i = 0; i < rows; ++i) from_f32(t, w.data() + i * cols, bytes.data() + i * rb, cols);
    return bytes;
  }
  for (auto& b : bytes) b = static_cast<uint8_t>(r.next_u64() & 255);
  const uint16_t d = f32_to_f16(0.0123f), dmin = f32_to_f16(0.0071f);
  for (size_t off = 0; off < bytes.size(); off += bb) {
    if (t == DType::Q6_K) {
      std::memcpy(&bytes[off + bb - 2], &d, 2);
    } else {
      std::memcpy(&bytes[off], &d, 2);
      if (t == DType::Q4_K || t == DType::Q5_K) std::memcpy(&bytes[off + 2], &dmin, 2);
    }
  }
  return bytes;
}

// The same blocks with every quant byte 0: decoded, each value's offset
// term (−8·d for Q4_0, −dmin·m for Q4_K/Q5_K, −32·d·sc for Q6_K, 0 for
// Q8_0). The kernels sum W − W0 and W0 apart, so |W| + |W0| bounds the size
// of what they round.
std::vector<float> offsets(DType t, std::vector<uint8_t> bytes, int64_t n) {
  const int64_t bb = dtype_block_bytes(t);
  int64_t from = 0, to = 0;  // the quant bytes of a block
  switch (t) {
    case DType::Q8_0: from = 2, to = 34; break;
    case DType::Q4_0: from = 2, to = 18; break;
    case DType::Q4_K: from = 16, to = 144; break;
    case DType::Q5_K: from = 16, to = 176; break;
    case DType::Q6_K: from = 0, to = 192; break;
    default: break;
  }
  for (size_t off = 0; off < bytes.size(); off += bb) std::memset(&bytes[off + from], 0, to - from);
  std::vector<float> w0(static_cast<size_t>(n));
  to_f32(t, bytes.data(), w0.data(), n);
  return w0;
}

std::vector<float> dequant_x(const ops::Q8Activation& xq) {
  std::vector<float> v(static_cast<size_t>(xq.n));
  for (int64_t i = 0; i < xq.n; ++i) v[i] = xq.d[i / xq.block] * xq.q[i];
  return v;
}

struct Case {
  int64_t rows, cols;
  bool random_bytes;
};

}  // namespace

TEST(QuantizeActivation, RoundsEachBlockToItsOwnScale) {
  const int64_t n = 256 * 2;
  auto x = activation(n, 3);
  x[100] = 1e-30f;  // a tiny value in a block of normal ones rounds to 0
  for (int64_t B : {32, 256}) {
    SCOPED_TRACE("blocks of " + std::to_string(B));
    ops::Q8Activation xq;
    ops::quantize_activation(x.data(), n, xq, B);
    ASSERT_EQ(xq.n, n);
    ASSERT_EQ(xq.block, B);
    for (int64_t b = 0; b < n / B; ++b) {
      float amax = 0;
      int sum = 0, qmax = 0;
      for (int64_t i = 0; i < B; ++i) amax = std::max(amax, std::fabs(x[b * B + i]));
      EXPECT_FLOAT_EQ(xq.d[b], amax / 127.0f) << "block " << b;
      for (int64_t i = 0; i < B; ++i) {
        const int q = xq.q[b * B + i];
        EXPECT_LE(std::abs(q), 127);
        EXPECT_LE(std::fabs(xq.d[b] * q - x[b * B + i]), 0.5f * xq.d[b] * (1 + 1e-6f)) << b << " " << i;
        sum += q;
        qmax = std::max(qmax, std::abs(q));
      }
      // x's block 1 of 32 is all zero: d = 0, q = 0
      EXPECT_EQ(qmax, B == 32 && b == 1 ? 0 : 127) << "block " << b;
      EXPECT_FLOAT_EQ(xq.s[b], xq.d[b] * sum);
    }
    for (int64_t j = 0; j < n / 32; ++j) {
      int part = 0;
      for (int i = 0; i < 32; ++i) part += xq.q[32 * j + i];
      EXPECT_EQ(xq.t[j], part) << "sum of 32 values " << j;
    }
    if (B == 32) {
      EXPECT_EQ(xq.d[1], 0.0f);
    }
  }
  ops::Q8Activation xq;
  ops::quantize_activation(x.data(), n, xq);
  // A non-finite value makes its block's factor NaN (so the product is NaN),
  // the other blocks unchanged.
  x[40] = std::numeric_limits<float>::infinity();
  x[70] = std::numeric_limits<float>::quiet_NaN();
  ops::Q8Activation bad;
  ops::quantize_activation(x.data(), n, bad);
  EXPECT_TRUE(std::isnan(bad.d[1]));
  EXPECT_TRUE(std::isnan(bad.d[2]));
  EXPECT_EQ(bad.d[0], xq.d[0]);
  EXPECT_EQ(bad.d[3], xq.d[3]);
  EXPECT_THROW(ops::quantize_activation(x.data(), 33, bad), std::exception);
  EXPECT_THROW(ops::quantize_activation(x.data(), 288, bad, 256), std::exception);
  EXPECT_THROW(ops::quantize_activation(x.data(), 256, bad, 64), std::exception);
}

// Every type and instruction set against Σ_c W[r,c]·x̂[c] in double. The
// kernels' integer sums are exact; what rounds is the per-block factor (at
// most 3 float products, each relative 2^-24) and the running float sums (at
// most nb + 8 additions in a chain for nb blocks of x), so
//   |y − y_ref| ≤ (nb + 11)·2^-24·Σ_c (|W| + |W0|)·|x̂|.
TEST(GemvQ8, EqualsDoubleProductOfDecodedWeightsAndQuantizedX) {
  std::vector<ops::DotIsa> isas{ops::DotIsa::Scalar};
  if (ops::gemv_q8_has_avx2()) isas.push_back(ops::DotIsa::Avx2);
  else std::printf("note: this CPU has no AVX2; the scalar kernels only\n");
  for (DType t : kTypes) {
    const int64_t bs = dtype_block_size(t);
    for (const Case c : {Case{1, bs, true}, Case{7, 3 * bs, true}, Case{5, 8 * bs, false}, Case{300, 768, true},
                         Case{1100, 768, false}}) {
      if (c.cols % bs) continue;
      SCOPED_TRACE(std::string(dtype_name(t)) + " " + std::to_string(c.rows) + "x" + std::to_string(c.cols) +
                   (c.random_bytes ? " random bytes" : " quantized"));
      const auto bytes = weight_rows(t, c.rows, c.cols, 11 + c.rows + c.cols, c.random_bytes);
      const int64_t rb = dtype_bytes(t, c.cols);
      std::vector<float> W(static_cast<size_t>(c.rows * c.cols));
      to_f32(t, bytes.data(), W.data(), c.rows * c.cols);
      const auto W0 = offsets(t, bytes, c.rows * c.cols);
      const auto x = activation(c.cols, 5 + c.cols);
      ops::Q8Activation xq;
      ops::quantize_activation(x.data(), c.cols, xq, ops::gemv_q8_x_block(t));
      const auto xh = dequant_x(xq);
      const double tol_per = (c.cols / 32 + 11) * std::ldexp(1.0, -24);
      for (ops::DotIsa isa : isas) {
        SCOPED_TRACE(isa == ops::DotIsa::Avx2 ? "avx2" : "scalar");
        std::vector<float> y(static_cast<size_t>(c.rows), 7.0f);
        ops::gemv_q8(t, bytes.data(), rb, xq, y.data(), c.rows, 0.0f, isa);
        std::vector<float> y2(static_cast<size_t>(c.rows), 2.5f);
        ops::gemv_q8(t, bytes.data(), rb, xq, y2.data(), c.rows, 0.5f, isa);
        for (int64_t r = 0; r < c.rows; ++r) {
          double want = 0, mag = 0;
          for (int64_t k = 0; k < c.cols; ++k) {
            want += static_cast<double>(W[r * c.cols + k]) * xh[k];
            mag += (std::fabs(W[r * c.cols + k]) + std::fabs(W0[r * c.cols + k])) * std::fabs(xh[k]);
          }
          ASSERT_NEAR(y[r], want, tol_per * mag + 1e-30) << "row " << r;
          ASSERT_NEAR(y2[r], y[r] + 1.25f, 1e-6f * (2 + std::fabs(y[r]))) << "beta, row " << r;
        }
      }
    }
  }
}

// Against the f32 kernel on the unquantized x: the difference is
// Σ_c W·(x̂ − x), at most Σ_c |W|·d_b/2, plus both kernels' float rounding
// (a few 2^-24 of Σ (|W| + |W0|)·(|x| + |x̂|)). The bound is also not loose
// by orders of magnitude: the measured difference is a real share of it.
TEST(GemvQ8, DiffersFromTheF32ProductOnlyByTheActivationRounding) {
  for (DType t : kTypes) {
    SCOPED_TRACE(dtype_name(t));
    const int64_t rows = 256, cols = 1024;
    const auto bytes = weight_rows(t, rows, cols, 21, false);
    const int64_t rb = dtype_bytes(t, cols);
    std::vector<float> W(static_cast<size_t>(rows * cols));
    to_f32(t, bytes.data(), W.data(), rows * cols);
    const auto W0 = offsets(t, bytes, rows * cols);
    const auto x = activation(cols, 8);
    ops::Q8Activation xq;
    ops::quantize_activation(x.data(), cols, xq, ops::gemv_q8_x_block(t));
    std::vector<float> yq(rows), yf(rows);
    ops::gemv_q8(t, bytes.data(), rb, x.data(), yq.data(), rows, cols);
    ops::gemv_stored(t, bytes.data(), rb, x.data(), yf.data(), rows, cols);
    double worst_share = 0;
    for (int64_t r = 0; r < rows; ++r) {
      double bound = 0, mag = 0;
      for (int64_t k = 0; k < cols; ++k) {
        bound += std::fabs(W[r * cols + k]) * 0.5 * xq.d[k / xq.block];
        mag += (std::fabs(W[r * cols + k]) + std::fabs(W0[r * cols + k])) * 2 * std::fabs(x[k]);
      }
      const double diff = std::fabs(static_cast<double>(yq[r]) - yf[r]);
      ASSERT_LE(diff, bound + 1e-5 * mag) << "row " << r;
      worst_share = std::max(worst_share, diff / bound);
    }
    EXPECT_GT(worst_share, 0.003) << "the int8 path should differ measurably from f32";
  }
}

TEST(GemvQ8, RejectsWhatItCannotCompute) {
  std::vector<uint8_t> w(1024);
  std::vector<float> x(64, 1.0f), y(2);
  ops::Q8Activation xq;
  ops::quantize_activation(x.data(), 64, xq);
  EXPECT_FALSE(ops::gemv_q8_supports(DType::F32));
  EXPECT_FALSE(ops::gemv_q8_supports(DType::BF16));
  EXPECT_THROW(ops::gemv_q8(DType::F32, w.data(), 256, xq, y.data(), 1), std::exception);
  EXPECT_THROW(ops::gemv_q8(DType::Q4_K, w.data(), 144, xq, y.data(), 1), std::exception);  // 64 columns, blocks of 256
  std::vector<float> x256(256, 1.0f);
  ops::quantize_activation(x256.data(), 256, xq, 32);
  EXPECT_THROW(ops::gemv_q8(DType::Q4_K, w.data(), 144, xq, y.data(), 1), std::exception);  // K-quants take blocks of 256
  ops::quantize_activation(x256.data(), 256, xq, 256);
  EXPECT_THROW(ops::gemv_q8(DType::Q8_0, w.data(), 272, xq, y.data(), 1), std::exception);  // Q8_0 takes blocks of 32
}

// The CPU backend's one-row product over a quantized StoredMatrix is this
// kernel (unless PEFT_QUANT_DOT=f32): bit for bit the same numbers.
TEST(GemvQ8, BackendSendsOneRowQuantizedProductsHere) {
  ASSERT_TRUE(ops::quant_dot_enabled()) << "the test suite runs with the default (PEFT_QUANT_DOT unset)";
  for (DType t : kTypes) {
    SCOPED_TRACE(dtype_name(t));
    const int64_t rows = 40, cols = 512;
    Rng r(4);
    std::vector<float> w(rows * cols);
    for (auto& v : w) v = 0.05f * static_cast<float>(r.normal());
    const StoredMatrix m = StoredMatrix::from_f32(t, w.data(), rows, cols);
    const auto x = activation(cols, 9);
    std::vector<float> got(rows), want(rows);
    ops::cpu_backend().matmul_rows_t(x.data(), 1, m, 3, rows - 3, got.data(), rows, 0.0f);
    ops::gemv_q8(t, m.row(3), m.row_bytes(), x.data(), want.data(), rows - 3, cols);
    for (int64_t i = 0; i < rows - 3; ++i) ASSERT_EQ(got[i], want[i]) << "row " << i;
  }
}
