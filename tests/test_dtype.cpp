#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/dtype.h"
#include "core/rng.h"
#include "core/tensor.h"

using namespace peft;

TEST(DType, F16RoundTripsEveryHalf) {
  // Every finite f16 converts to f32 and back to the same bits.
  for (uint32_t h = 0; h < 65536; ++h) {
    uint16_t b = static_cast<uint16_t>(h);
    if (((b >> 10) & 0x1f) == 0x1f) continue;  // inf/nan
    EXPECT_EQ(f32_to_f16(f16_to_f32(b)), b) << h;
  }
}

TEST(DType, F16KnownValues) {
  EXPECT_EQ(f16_to_f32(0x3c00), 1.0f);
  EXPECT_EQ(f16_to_f32(0xc000), -2.0f);
  EXPECT_EQ(f16_to_f32(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(f32_to_f16(65504.0f), 0x7bff);
  EXPECT_EQ(f32_to_f16(1e6f), 0x7c00);
  // 1 + 2^-11 is halfway between 1 and the next f16: ties go to even (1.0).
  EXPECT_EQ(f32_to_f16(1.0f + std::ldexp(1.0f, -11)), 0x3c00);
}

TEST(DType, BF16RoundsToNearestEven) {
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(bf16_to_f32(0x3f80), 1.0f);
  // 1 + 2^-8 is halfway between bf16 1.0 and 1.0078125: ties to even.
  EXPECT_EQ(f32_to_bf16(1.0f + std::ldexp(1.0f, -8)), 0x3f80);
  EXPECT_EQ(f32_to_bf16(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3f82);
}

TEST(DType, QuantizedRoundTripIsClose) {
  Rng rng(1);
  std::vector<float> x(256);
  for (auto& v : x) v = rng.normal();
  for (DType t : {DType::Q8_0, DType::Q4_0}) {
    std::vector<uint8_t> q(dtype_bytes(t, 256));
    std::vector<float> y(256);
    from_f32(t, x.data(), q.data(), 256);
    to_f32(t, q.data(), y.data(), 256);
    double max_err = 0, amax = 0;
    for (int i = 0; i < 256; ++i) {
      max_err = std::max(max_err, (double)std::fabs(x[i] - y[i]));
      amax = std::max(amax, (double)std::fabs(x[i]));
    }
    // Q8_0: step amax/127; Q4_0: step amax/8 (half a step of error at most).
    double bound = t == DType::Q8_0 ? amax / 127 : amax / 8;
    EXPECT_LE(max_err, bound * 0.51 + 1e-3) << dtype_name(t);
  }
}

TEST(Tensor, ToAndFromStorageTypes) {
  Tensor t = Tensor::zeros(DType::F32, {2, 3});
  float* p = t.mutable_ptr<float>();
  for (int i = 0; i < 6; ++i) p[i] = 0.5f * i;
  Tensor h = t.to(DType::F16);
  EXPECT_EQ(h.nbytes(), 12);
  Tensor back = h.to_f32();
  for (int i = 0; i < 6; ++i) EXPECT_EQ(back.ptr<float>()[i], 0.5f * i);
  EXPECT_EQ(shape_str(t.shape()), "[2, 3]");
}
