// Vectorisable exp for the softmax loops of attention and cross-entropy.
// std::exp on float is a scalar libm call; in attention it runs once per
// (query, key) pair and costs as much as the matrix products, so the float
// path uses this branch-free version that the compiler turns into SIMD code.
//
// exp(x) = 2ⁿ · e^r with n = round(x · log2 e) and r = x − n · ln 2 (ln 2
// split in a high and a low part so r is exact to float precision),
// |r| ≤ ln2/2, e^r by its Taylor series to degree 7 (truncation < 1e-8
// relative), 2ⁿ built directly in the exponent bits. Inputs below −87.3
// (including −inf from masking) give exactly 0.
#pragma once
#include <bit>
#include <cmath>
#include <cstdint>

namespace peft::ops {

inline float exp_fast(float x) {
  const float kLog2e = 1.44269504088896341f;
  const float kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
  const float kRound = 12582912.0f;  // 1.5 · 2²³: adding it rounds to an integer
  // Plain selects rather than fmin/fmax, which stay libm calls without fast-math.
  float xc = x < -88.0f ? -88.0f : x;
  xc = xc > 88.0f ? 88.0f : xc;
  const float t = xc * kLog2e + kRound;
  const int32_t n = std::bit_cast<int32_t>(t) - std::bit_cast<int32_t>(kRound);
  const float nf = t - kRound;
  const float r = (xc - nf * kLn2Hi) - nf * kLn2Lo;
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const float scale = std::bit_cast<float>((n + 127) << 23);
  return x < -87.3f ? 0.0f : p * scale;
}

// x[c] ← exp(x[c] − shift); returns Σ x[c]. The sum runs in float over
// blocks of 256 (16 SIMD lanes of partial sums, each term ≤ 1 after the max
// shift) and across blocks in double, which keeps it accurate to ~1e-7.
inline double exp_shift_sum(float* x, int64_t n, float shift) {
  double total = 0;
  for (int64_t c0 = 0; c0 < n; c0 += 256) {
    const int64_t c1 = n - c0 < 256 ? n : c0 + 256;
    float s = 0;
#pragma omp simd reduction(+ : s)
    for (int64_t c = c0; c < c1; ++c) {
      const float e = exp_fast(x[c] - shift);
      x[c] = e;
      s += e;
    }
    total += s;
  }
  return total;
}
inline double exp_shift_sum(double* x, int64_t n, double shift) {
  double sum = 0;
  for (int64_t c = 0; c < n; ++c) {
    x[c] = std::exp(x[c] - shift);
    sum += x[c];
  }
  return sum;
}

// x[c] ← exp(x[c] − shift).
inline void exp_shift(float* x, int64_t n, float shift) {
#pragma omp simd
  for (int64_t c = 0; c < n; ++c) x[c] = exp_fast(x[c] - shift);
}
inline void exp_shift(double* x, int64_t n, double shift) {
  for (int64_t c = 0; c < n; ++c) x[c] = std::exp(x[c] - shift);
}

}  // namespace peft::ops
