// Frozen weights held in their storage type (core/stored_matrix.h,
// ops/backend.h, ops/weight_ops.h).
//
// The reference for every product is the plain double-accumulating GEMM
// (gemm_ref) on the weight decoded whole by to_f32, the decoder the format
// tests already check: the backend's panel-by-panel (and, for a few rows,
// row-by-row) products must equal it to f32 rounding. Quantizers are checked
// by their round-trip error against the data's scale, and their layout by
// llama.cpp in test_stored_interop.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/dtype.h"
#include "core/rng.h"
#include "core/stored_matrix.h"
#include "model/base_dtype.h"
#include "model/linear.h"
#include "ops/cross_entropy.h"
#include "ops/gemv_q8.h"
#include "ops/matmul.h"
#include "ops/weight_ops.h"

using namespace peft;

namespace {

const DType kTypes[] = {DType::BF16, DType::F16, DType::Q8_0, DType::Q4_0, DType::Q4_K, DType::Q5_K, DType::Q6_K};

std::vector<float> randn(int64_t n, uint64_t seed, float sd = 1.0f) {
  Rng r(seed);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = sd * r.normal();
  return v;
}

std::vector<float> decoded(const StoredMatrix& m) {
  std::vector<float> w(static_cast<size_t>(m.rows() * m.cols()));
  to_f32(m.dtype(), m.row(0), w.data(), m.rows() * m.cols());
  return w;
}

double max_abs(const std::vector<float>& v) {
  double m = 0;
  for (float x : v) m = std::max(m, static_cast<double>(std::fabs(x)));
  return m;
}

void expect_close(const std::vector<float>& got, const std::vector<float>& want, double tol, const char* what) {
  ASSERT_EQ(got.size(), want.size());
  const double scale = std::max(1.0, max_abs(want));
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_NEAR(got[i], want[i], tol * scale) << what << " at " << i;
}

// x as the forward product sees it: quantized to int8 blocks for a one-row
// product over a quantized type (the decode kernel), else unchanged.
std::vector<float> forward_input(const std::vector<float>& x, int64_t n, DType t) {
  if (n != 1 || !ops::gemv_q8_supports(t) || !ops::quant_dot_enabled()) return x;
  ops::Q8Activation xq;
  ops::quantize_activation(x.data(), static_cast<int64_t>(x.size()), xq, ops::gemv_q8_x_block(t));
  std::vector<float> xh(x.size());
  for (size_t i = 0; i < x.size(); ++i) xh[i] = xq.d[i / xq.block] * xq.q[i];
  return xh;
}

struct Shape2 {
  int64_t n, out, in;
};

class StoredProduct : public ::testing::TestWithParam<DType> {};

// y = x Wᵀ and dx = dy W (fresh and accumulated), whole and on a row range,
// for one row (decoding: the matrix-vector kernel), a few rows (the row-wise
// path), a batch (panels), and a matrix larger than one panel (several
// panels, the last one partial).
TEST_P(StoredProduct, ForwardAndInputGradientEqualTheGemmOnTheDecodedWeight) {
  const DType t = GetParam();
  for (const Shape2 s : {Shape2{1, 40, 512}, Shape2{3, 40, 512}, Shape2{37, 40, 512}, Shape2{19, 300, 2048}}) {
    SCOPED_TRACE(std::string(dtype_name(t)) + " n=" + std::to_string(s.n) + " out=" + std::to_string(s.out));
    const std::vector<float> w = randn(s.out * s.in, 1, 0.05f);
    const StoredMatrix m = StoredMatrix::from_f32(t, w.data(), s.out, s.in);
    EXPECT_EQ(m.nbytes(), dtype_bytes(t, s.out * s.in));
    const std::vector<float> wd = decoded(m);
    const std::vector<float> x = randn(s.n * s.in, 2), dy = randn(s.n * s.out, 3), y0 = randn(s.n * s.out, 4),
                             dx0 = randn(s.n * s.in, 5);
    // One row over a block-quantized weight multiplies the int8-quantized x
    // (ops/gemv_q8.h, tested there): the forward reference takes x̂ = d·q.
    const std::vector<float> xf = forward_input(x, s.n, t);

    // Forward, beta 0 and beta 0.5, whole matrix.
    for (float beta : {0.0f, 0.5f}) {
      std::vector<float> want = y0, got = y0;
      ops::gemm_ref<float>(false, true, s.n, s.out, s.in, 1.0f, xf.data(), s.in, wd.data(), s.in, beta, want.data(),
                           s.out);
      ops::weight_rows_t<float>(x.data(), s.n, s.in, ops::WeightRef<float>(&m), 0, s.out, got.data(), s.out, beta);
      expect_close(got, want, 2e-5, "forward");
    }
    // Forward on rows [r0, r0+nr) into a strided output (a vocabulary chunk).
    const int64_t r0 = s.out / 3, nr = s.out / 2;
    {
      std::vector<float> want(static_cast<size_t>(s.n * s.out), 0.0f), got = want;
      ops::gemm_ref<float>(false, true, s.n, nr, s.in, 1.0f, xf.data(), s.in, wd.data() + r0 * s.in, s.in, 0.0f,
                           want.data(), s.out);
      ops::weight_rows_t<float>(x.data(), s.n, s.in, ops::WeightRef<float>(&m), r0, nr, got.data(), s.out, 0.0f);
      expect_close(got, want, 2e-5, "forward rows");
    }
    // Input gradient, fresh and accumulated.
    for (float beta : {0.0f, 1.0f}) {
      std::vector<float> want = dx0, got = dx0;
      ops::gemm_ref<float>(false, false, s.n, s.in, s.out, 1.0f, dy.data(), s.out, wd.data(), s.in, beta, want.data(),
                           s.in);
      ops::rows_weight<float>(dy.data(), s.out, s.n, ops::WeightRef<float>(&m), 0, s.out, s.in, got.data(), beta);
      expect_close(got, want, 2e-5, "backward input");
    }
    // Input gradient of rows [r0, r0+nr) (dy strided).
    {
      std::vector<float> want(static_cast<size_t>(s.n * s.in), 0.0f), got = want;
      ops::gemm_ref<float>(false, false, s.n, s.in, nr, 1.0f, dy.data() + r0, s.out, wd.data() + r0 * s.in, s.in, 0.0f,
                           want.data(), s.in);
      ops::rows_weight<float>(dy.data() + r0, s.out, s.n, ops::WeightRef<float>(&m), r0, nr, s.in, got.data(), 0.0f);
      expect_close(got, want, 2e-5, "backward rows");
    }
    // Gathered rows (token embedding).
    {
      const std::vector<int32_t> ids{0, static_cast<int32_t>(s.out - 1), 5, 5};
      std::vector<float> got(4 * s.in);
      ops::weight_gather_rows<float>(ops::WeightRef<float>(&m), ids.data(), got.data(), 4, s.out, s.in);
      for (int i = 0; i < 4; ++i)
        for (int64_t c = 0; c < s.in; ++c) ASSERT_EQ(got[i * s.in + c], wd[ids[i] * s.in + c]);
    }
  }
}

// The fused output head + cross-entropy reads a stored head chunk by chunk:
// same loss and input gradient as with the decoded head dense.
TEST_P(StoredProduct, CrossEntropyOnAStoredHeadEqualsTheDenseDecodedHead) {
  const DType t = GetParam();
  const int64_t N = 9, C = 256, V = 700;
  const std::vector<float> w = randn(V * C, 7, 0.1f), h = randn(N * C, 8);
  const StoredMatrix m = StoredMatrix::from_f32(t, w.data(), V, C);
  const std::vector<float> wd = decoded(m);
  std::vector<int32_t> tg{1, 699, -1, 3, 256, 0, 512, -1, 64};
  std::vector<float> lse_a(N), lse_b(N), dh_a(N * C), dh_b(N * C);
  const double la = ops::linear_cross_entropy_forward<float>(h.data(), wd.data(), tg.data(), lse_a.data(), N, C, V, 256);
  const double lb = ops::linear_cross_entropy_forward<float>(h.data(), ops::WeightRef<float>(&m), tg.data(),
                                                             lse_b.data(), N, C, V, 256);
  EXPECT_NEAR(la, lb, 1e-5 * std::fabs(la));
  ops::linear_cross_entropy_backward<float>(h.data(), wd.data(), tg.data(), lse_a.data(), 0.5f, dh_a.data(), nullptr, N,
                                            C, V, 256);
  ops::linear_cross_entropy_backward<float>(h.data(), ops::WeightRef<float>(&m), tg.data(), lse_b.data(), 0.5f,
                                            dh_b.data(), nullptr, N, C, V, 256);
  expect_close(dh_b, dh_a, 1e-5, "dh");
}

INSTANTIATE_TEST_SUITE_P(Types, StoredProduct, ::testing::ValuesIn(kTypes),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

// Round-trip error of the encoders, relative to the data's standard
// deviation, on Gaussian data. Bounds sit above what the formats give with a
// plain fit (bf16 8 bits of mantissa; Q8_0 ~0.004; Q6_K ~0.01; Q5_K ~0.03;
// Q4_K and Q4_0 ~0.06-0.1) and far below a wrong layout (error ~1).
TEST(StoredQuantizers, RoundTripErrorIsWhatTheFormatAllows) {
  const struct {
    DType t;
    double bound;
  } cases[] = {{DType::BF16, 0.005}, {DType::F16, 0.001}, {DType::Q8_0, 0.01}, {DType::Q6_K, 0.03},
               {DType::Q5_K, 0.05},  {DType::Q4_K, 0.1},  {DType::Q4_0, 0.12}};
  const int64_t n = 256 * 64;
  const std::vector<float> x = randn(n, 11, 0.7f);
  for (const auto& c : cases) {
    std::vector<uint8_t> enc(static_cast<size_t>(dtype_bytes(c.t, n)));
    from_f32(c.t, x.data(), enc.data(), n);
    std::vector<float> back(static_cast<size_t>(n));
    to_f32(c.t, enc.data(), back.data(), n);
    double e2 = 0, x2 = 0;
    for (int64_t i = 0; i < n; ++i) {
      e2 += (back[i] - x[i]) * static_cast<double>(back[i] - x[i]);
      x2 += static_cast<double>(x[i]) * x[i];
    }
    const double rel = std::sqrt(e2 / x2);
    std::printf("[ %s ] relative RMS round-trip error %.5f\n", dtype_name(c.t), rel);
    EXPECT_LT(rel, c.bound) << dtype_name(c.t);
    // A constant block and an all-zero block come back exactly (or to f16 rounding of the scale).
    std::vector<float> z(256, 0.0f);
    from_f32(c.t, z.data(), enc.data(), 256);
    to_f32(c.t, enc.data(), back.data(), 256);
    for (int i = 0; i < 256; ++i) ASSERT_EQ(back[i], 0.0f) << dtype_name(c.t);
  }
}

TEST(StoredMatrixChecks, RowsMustHoldWholeBlocks) {
  EXPECT_TRUE(storable_as(DType::Q4_K, 512));
  EXPECT_FALSE(storable_as(DType::Q4_K, 172));
  EXPECT_FALSE(storable_as(DType::Q8_0, 172));
  EXPECT_TRUE(storable_as(DType::BF16, 172));
  std::vector<float> w(10 * 172, 0.5f);
  try {
    StoredMatrix::from_f32(DType::Q8_0, w.data(), 10, 172);
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("[model]", 0), 0u) << e.what();
  }
}

// A Linear whose weight is stored computes what a dense Linear holding the
// decoded weight computes; making it trainable gives an f32 master with
// exactly the decoded values.
TEST(StoredLinear, MatchesADenseLinearOnTheDecodedWeightAndWidensWhenTrained) {
  const int64_t n = 6, in = 256, out = 48;
  Linear<float> a, b;
  a.init("blk.0.attn_q", "q", in, out, false);
  b.init("blk.0.attn_q", "q", in, out, false);
  const std::vector<float> w = randn(out * in, 21, 0.05f);
  a.weight.hold_as(StoredMatrix::from_f32(DType::Q4_K, w.data(), out, in));
  const std::vector<float> wd = decoded(a.weight.stored);
  std::copy(wd.begin(), wd.end(), b.weight.data.get());
  EXPECT_TRUE(a.weight.is_stored());
  EXPECT_EQ(a.weight.data, nullptr);
  EXPECT_EQ(a.weight.value_bytes(), dtype_bytes(DType::Q4_K, out * in));
  const std::vector<float> x = randn(n * in, 22), dy = randn(n * out, 23);
  std::vector<float> ya(n * out), yb(n * out), dxa(n * in), dxb(n * in);
  a.forward(x.data(), ya.data(), n, true);
  b.forward(x.data(), yb.data(), n, true);
  expect_close(ya, yb, 2e-5, "linear forward");
  a.backward(x.data(), dy.data(), dxa.data(), n, false);
  b.backward(x.data(), dy.data(), dxb.data(), n, false);
  expect_close(dxa, dxb, 2e-5, "linear backward");
  a.weight.set_trainable(true);
  ASSERT_FALSE(a.weight.is_stored());
  for (int64_t i = 0; i < out * in; ++i) ASSERT_EQ(a.weight.data[i], wd[i]);
}

TEST(BaseDTypePolicy, ParsesAndPicksStorage) {
  EXPECT_EQ(parse_base_dtype("keep"), BaseDType::Keep);
  EXPECT_EQ(base_storage_type(BaseDType::Keep, DType::Q4_K), DType::Q4_K);
  EXPECT_EQ(base_storage_type(BaseDType::Keep, DType::F32), DType::F32);
  EXPECT_EQ(base_storage_type(BaseDType::BF16, DType::F32), DType::BF16);
  EXPECT_EQ(base_storage_type(BaseDType::BF16, DType::Q8_0), DType::BF16);
  EXPECT_EQ(base_storage_type(BaseDType::F32, DType::Q8_0), DType::F32);
  EXPECT_EQ(base_storage_type(BaseDType::Auto, DType::Q6_K), DType::Q6_K);
  EXPECT_EQ(base_storage_type(BaseDType::Auto, DType::BF16), DType::BF16);
  try {
    parse_base_dtype("int3");
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "[model] --base-dtype must be auto, f32, bf16 or keep, got 'int3'");
  }
}

}  // namespace
