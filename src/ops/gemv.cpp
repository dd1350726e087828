#include "ops/gemv.h"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "core/error.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define PEFT_GEMV_AVX2 1
#endif

namespace peft::ops {
namespace {

// Below this many weight bytes a product is done by the calling thread: the
// OpenMP fork/join (a few microseconds) costs more than streaming the rows.
constexpr int64_t kParallelBytes = 1 << 17;

// Four rows at once share each load of x. `row[i]` are the rows' first
// bytes; when fewer than four rows are left the caller repeats the last one.
template <typename Dot4>
void drive(const uint8_t* W, int64_t row_bytes, const float* x, float* y, int64_t rows, int64_t cols, float alpha,
           float beta, const Dot4& dot4) {
  if (rows <= 0) return;
  const int64_t groups = (rows + 3) / 4;
  const bool parallel = rows * row_bytes >= kParallelBytes && !omp_in_parallel() && omp_get_max_threads() > 1;
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t g = 0; g < groups; ++g) {
    const int64_t r0 = g * 4, nr = std::min<int64_t>(4, rows - r0);
    const uint8_t* row[4];
    for (int64_t i = 0; i < 4; ++i) row[i] = W + (r0 + std::min(i, nr - 1)) * row_bytes;
    float d[4];
    dot4(row, x, cols, d);
    for (int64_t i = 0; i < nr; ++i) y[r0 + i] = alpha * d[i] + (beta == 0.0f ? 0.0f : beta * y[r0 + i]);
  }
}

// Any storage type: each row block is converted to f32 (to_f32 on one block:
// at most 256 values, on the stack) and dotted with x in float.
void dot4_generic(DType dtype, const uint8_t* const row[4], const float* x, int64_t cols, float out[4]) {
  const int64_t bs = dtype_block_size(dtype), bb = dtype_block_bytes(dtype);
  float tmp[256];
  for (int i = 0; i < 4; ++i) {
    float acc = 0.0f;
    for (int64_t c0 = 0, b = 0; c0 < cols; c0 += bs, ++b) {
      to_f32(dtype, row[i] + b * bb, tmp, bs);
      float s = 0.0f;
#pragma omp simd reduction(+ : s)
      for (int64_t c = 0; c < bs; ++c) s += tmp[c] * x[c0 + c];
      acc += s;
    }
    out[i] = acc;
  }
}

#ifdef PEFT_GEMV_AVX2
inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// Eight consecutive values of a row as floats.
inline __m256 load8(const float* p) { return _mm256_loadu_ps(p); }
inline __m256 load8(const uint16_t* p) {  // bf16: the high half of an f32
  const __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
}
#ifdef __F16C__
struct Half {
  uint16_t bits;
};
inline __m256 load8(const Half* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
#endif
inline float to_float(float v) { return v; }
inline float to_float(uint16_t v) { return bf16_to_f32(v); }
#ifdef __F16C__
inline float to_float(Half v) { return f16_to_f32(v.bits); }
#endif

// Plain element types (f32, bf16, f16): two accumulators per row, 16
// columns per step, so eight FMA chains are in flight.
template <typename E>
void dot4_plain(const uint8_t* const row[4], const float* x, int64_t cols, float out[4]) {
  const E* p0 = reinterpret_cast<const E*>(row[0]);
  const E* p1 = reinterpret_cast<const E*>(row[1]);
  const E* p2 = reinterpret_cast<const E*>(row[2]);
  const E* p3 = reinterpret_cast<const E*>(row[3]);
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
  int64_t c = 0;
  for (; c + 16 <= cols; c += 16) {
    const __m256 x0 = _mm256_loadu_ps(x + c), x1 = _mm256_loadu_ps(x + c + 8);
    a0 = _mm256_fmadd_ps(load8(p0 + c), x0, a0);
    a1 = _mm256_fmadd_ps(load8(p1 + c), x0, a1);
    a2 = _mm256_fmadd_ps(load8(p2 + c), x0, a2);
    a3 = _mm256_fmadd_ps(load8(p3 + c), x0, a3);
    b0 = _mm256_fmadd_ps(load8(p0 + c + 8), x1, b0);
    b1 = _mm256_fmadd_ps(load8(p1 + c + 8), x1, b1);
    b2 = _mm256_fmadd_ps(load8(p2 + c + 8), x1, b2);
    b3 = _mm256_fmadd_ps(load8(p3 + c + 8), x1, b3);
  }
  for (; c + 8 <= cols; c += 8) {
    const __m256 x0 = _mm256_loadu_ps(x + c);
    a0 = _mm256_fmadd_ps(load8(p0 + c), x0, a0);
    a1 = _mm256_fmadd_ps(load8(p1 + c), x0, a1);
    a2 = _mm256_fmadd_ps(load8(p2 + c), x0, a2);
    a3 = _mm256_fmadd_ps(load8(p3 + c), x0, a3);
  }
  out[0] = hsum(_mm256_add_ps(a0, b0));
  out[1] = hsum(_mm256_add_ps(a1, b1));
  out[2] = hsum(_mm256_add_ps(a2, b2));
  out[3] = hsum(_mm256_add_ps(a3, b3));
  for (; c < cols; ++c) {
    out[0] += to_float(p0[c]) * x[c];
    out[1] += to_float(p1[c]) * x[c];
    out[2] += to_float(p2[c]) * x[c];
    out[3] += to_float(p3[c]) * x[c];
  }
}

// Q8_0: blocks of 32 values, an f16 scale d then 32 int8 q; value = d · q.
// Per block Σ q·x is summed in float, then scaled by d into the row's total.
constexpr int64_t kQ8Block = 32, kQ8Bytes = 34;
inline __m256 q8_block_dot(const uint8_t* blk, const float* x) {
  const int8_t* q = reinterpret_cast<const int8_t*>(blk + 2);
  __m256 s = _mm256_setzero_ps();
  for (int j = 0; j < 4; ++j) {
    const __m256i w = _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(q + 8 * j)));
    s = _mm256_fmadd_ps(_mm256_cvtepi32_ps(w), _mm256_loadu_ps(x + 8 * j), s);
  }
  return s;
}
inline float q8_scale(const uint8_t* blk) {
  uint16_t h;
  std::memcpy(&h, blk, 2);
  return f16_to_f32(h);
}
void dot4_q8_0(const uint8_t* const row[4], const float* x, int64_t cols, float out[4]) {
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
  for (int64_t b = 0; b * kQ8Block < cols; ++b) {
    const float* xb = x + b * kQ8Block;
    for (int i = 0; i < 4; ++i) {
      const uint8_t* blk = row[i] + b * kQ8Bytes;
      acc[i] = _mm256_fmadd_ps(_mm256_set1_ps(q8_scale(blk)), q8_block_dot(blk, xb), acc[i]);
    }
  }
  for (int i = 0; i < 4; ++i) out[i] = hsum(acc[i]);
}
#endif  // PEFT_GEMV_AVX2

}  // namespace

void gemv_f32(const float* W, int64_t ldw, const float* x, float* y, int64_t rows, int64_t cols, float alpha,
              float beta) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(W);
  const int64_t row_bytes = ldw * static_cast<int64_t>(sizeof(float));
#ifdef PEFT_GEMV_AVX2
  drive(bytes, row_bytes, x, y, rows, cols, alpha, beta, dot4_plain<float>);
#else
  drive(bytes, row_bytes, x, y, rows, cols, alpha, beta,
        [](const uint8_t* const row[4], const float* xx, int64_t n, float out[4]) {
          dot4_generic(DType::F32, row, xx, n, out);
        });
#endif
}

void gemv_stored(DType dtype, const void* W, int64_t row_bytes, const float* x, float* y, int64_t rows, int64_t cols,
                 float beta) {
  if (cols % dtype_block_size(dtype) != 0)
    internal_fail("gemv", std::string(dtype_name(dtype)) + " rows of " + std::to_string(cols) +
                              " columns are not whole blocks");
  const auto* bytes = static_cast<const uint8_t*>(W);
#ifdef PEFT_GEMV_AVX2
  switch (dtype) {
    case DType::F32: return drive(bytes, row_bytes, x, y, rows, cols, 1.0f, beta, dot4_plain<float>);
    case DType::BF16: return drive(bytes, row_bytes, x, y, rows, cols, 1.0f, beta, dot4_plain<uint16_t>);
#ifdef __F16C__
    case DType::F16: return drive(bytes, row_bytes, x, y, rows, cols, 1.0f, beta, dot4_plain<Half>);
#endif
    case DType::Q8_0: return drive(bytes, row_bytes, x, y, rows, cols, 1.0f, beta, dot4_q8_0);
    default: break;
  }
#endif
  drive(bytes, row_bytes, x, y, rows, cols, 1.0f, beta,
        [dtype](const uint8_t* const row[4], const float* xx, int64_t n, float out[4]) {
          dot4_generic(dtype, row, xx, n, out);
        });
}

}  // namespace peft::ops
