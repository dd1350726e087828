#include "ops/gemv_q8.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>

#include "core/cpu_features.h"
#include "core/error.h"
#include "core/kquant_scales.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define PEFT_Q8_X86 1
#endif

namespace peft::ops {

namespace {

// As in gemv.cpp: below this many weight bytes the fork/join costs more than
// the product.
constexpr int64_t kParallelBytes = 1 << 17;

// One row's dot product with the quantized x: w the row's bytes, q the int8
// values, d and s the per-block factors and scaled sums, t the per-32
// integer sums, nb the number of blocks of x (of 32 or 256 values).
using RowDot = float (*)(const uint8_t* w, const int8_t* q, const float* d, const float* s, const int32_t* t,
                         int64_t nb);

float load_f16(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return f16_to_f32(h);
}

// ---- portable code: the integer sums spelled out, the same math as below --

float row_q8_0_scalar(const uint8_t* w, const int8_t* q, const float* d, const float*, const int32_t*, int64_t nb) {
  float acc = 0.0f;
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = w + 34 * b;
    const int8_t* wq = reinterpret_cast<const int8_t*>(blk + 2);
    const int8_t* xq = q + 32 * b;
    int32_t isum = 0;
    for (int i = 0; i < 32; ++i) isum += wq[i] * xq[i];
    acc += load_f16(blk) * d[b] * static_cast<float>(isum);
  }
  return acc;
}

// Q4_0: byte j holds value j (low nibble) and j + 16 (high); w = d_w·(n − 8).
float row_q4_0_scalar(const uint8_t* w, const int8_t* q, const float* d, const float* s, const int32_t*, int64_t nb) {
  float acc = 0.0f, off = 0.0f;
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = w + 18 * b;
    const int8_t* xq = q + 32 * b;
    int32_t isum = 0;
    for (int j = 0; j < 16; ++j) isum += (blk[2 + j] & 15) * xq[j] + (blk[2 + j] >> 4) * xq[16 + j];
    const float dw = load_f16(blk);
    acc += dw * d[b] * static_cast<float>(isum);
    off += dw * s[b];
  }
  return acc - 8.0f * off;
}

// The 8 scales and mins of a Q4_K/Q5_K block.
inline void scales_mins(const uint8_t* p, int sc[8], int mn[8]) {
  for (int j = 0; j < 8; ++j) unpack_scale_min(p, j, &sc[j], &mn[j]);
}

// Q4_K and Q5_K: super-blocks of 256 = 8 sub-blocks of 32, one block of x
// per super-block; value 64g + l is the low nibble of byte 32g + l
// (sub-block 2g), value 64g + 32 + l its high nibble (sub-block 2g + 1);
// Q5_K adds bit 2g / 2g + 1 of qh[l] as the fifth bit. The sub-block scales
// multiply integer sums, so a super-block costs two float products.
template <bool kFive>
float row_q45_k_scalar(const uint8_t* w, const int8_t* q, const float* d, const float*, const int32_t* t,
                       int64_t nb) {
  constexpr int64_t kBytes = kFive ? 176 : 144;
  float acc = 0.0f, off = 0.0f;
  for (int64_t sb = 0; sb < nb; ++sb) {
    const uint8_t* blk = w + kBytes * sb;
    const uint8_t* qh = blk + 16;
    const uint8_t* qs = blk + (kFive ? 48 : 16);
    const int8_t* xq = q + 256 * sb;
    int sc[8], mn[8];
    scales_mins(blk + 4, sc, mn);
    int32_t isum = 0, msum = 0;
    for (int g = 0; g < 4; ++g) {
      int32_t lo = 0, hi = 0;
      for (int l = 0; l < 32; ++l) {
        int n0 = qs[32 * g + l] & 15, n1 = qs[32 * g + l] >> 4;
        if (kFive) {
          n0 |= ((qh[l] >> (2 * g)) & 1) << 4;
          n1 |= ((qh[l] >> (2 * g + 1)) & 1) << 4;
        }
        lo += n0 * xq[64 * g + l];
        hi += n1 * xq[64 * g + 32 + l];
      }
      isum += sc[2 * g] * lo + sc[2 * g + 1] * hi;
    }
    for (int j = 0; j < 8; ++j) msum += mn[j] * t[8 * sb + j];
    acc += load_f16(blk) * d[sb] * static_cast<float>(isum);
    off += load_f16(blk + 2) * d[sb] * static_cast<float>(msum);
  }
  return acc - off;
}

// Q6_K: halves of 128; in half h, group k of 32 values takes its low
// nibbles from ql[l] (k = 0, 2: low/high nibble) or ql[32 + l] (k = 1, 3)
// and bits 2k, 2k+1 of qh[l]; w = d·sc·(n − 32) with sc[8h+2k] for l < 16
// and sc[8h+2k+1] for l ≥ 16.
float row_q6_k_scalar(const uint8_t* w, const int8_t* q, const float* d, const float*, const int32_t*, int64_t nb) {
  float acc = 0.0f;
  for (int64_t sb = 0; sb < nb; ++sb) {
    const uint8_t* blk = w + 210 * sb;
    const int8_t* sc = reinterpret_cast<const int8_t*>(blk + 192);
    int32_t isum = 0;
    for (int h = 0; h < 2; ++h) {
      const uint8_t* ql = blk + 64 * h;
      const uint8_t* qh = blk + 128 + 32 * h;
      for (int k = 0; k < 4; ++k) {
        const int8_t* xq = q + 256 * sb + 128 * h + 32 * k;
        int32_t part[2] = {0, 0};
        for (int l = 0; l < 32; ++l) {
          const uint8_t lowb = ql[(k & 1) * 32 + l];
          const int n = ((k < 2 ? lowb & 15 : lowb >> 4) | (((qh[l] >> (2 * k)) & 3) << 4)) - 32;
          part[l / 16] += n * xq[l];
        }
        isum += sc[8 * h + 2 * k] * part[0] + sc[8 * h + 2 * k + 1] * part[1];
      }
    }
    acc += load_f16(blk + 208) * d[sb] * static_cast<float>(isum);
  }
  return acc;
}

// ---- AVX2: 32 weights per step in one register ----------------------------
#ifdef PEFT_Q8_X86
#define PEFT_Q8_AVX2 __attribute__((target("avx2,fma,f16c")))

PEFT_Q8_AVX2 inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

PEFT_Q8_AVX2 inline float f16c(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return _cvtsh_ss(h);
}

PEFT_Q8_AVX2 inline __m256i load32(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// Σ of u·x over each four consecutive bytes, as 8 int32: maddubs multiplies
// unsigned by signed bytes and adds pairs into int16 (|pair| ≤ 2·128·127 <
// 2^15, so never saturates with |x| ≤ 127), madd with ones adds pairs again.
PEFT_Q8_AVX2 inline __m256i dot_u8s8(__m256i u, __m256i x) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, x), _mm256_set1_epi16(1));
}
// Signed weights: |w| times x with w's sign moved onto x (sign_epi8 also
// zeroes x where w is 0), so maddubs sees an unsigned left operand.
PEFT_Q8_AVX2 inline __m256i sign_fold(__m256i w, __m256i x, __m256i* u) {
  *u = _mm256_abs_epi8(w);
  return _mm256_sign_epi8(x, w);
}

PEFT_Q8_AVX2 inline __m256 q8_0_step(const uint8_t* blk, const int8_t* xq, float dx, __m256 acc) {
  __m256i u;
  const __m256i sx = sign_fold(load32(blk + 2), load32(xq), &u);
  return _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot_u8s8(u, sx)), _mm256_set1_ps(f16c(blk) * dx), acc);
}

// Two accumulators, so consecutive blocks' FMAs do not wait on each other.
PEFT_Q8_AVX2 float row_q8_0_avx2(const uint8_t* w, const int8_t* q, const float* d, const float*, const int32_t*, int64_t nb) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t b = 0;
  for (; b + 2 <= nb; b += 2) {
    acc0 = q8_0_step(w + 34 * b, q + 32 * b, d[b], acc0);
    acc1 = q8_0_step(w + 34 * (b + 1), q + 32 * (b + 1), d[b + 1], acc1);
  }
  if (b < nb) acc0 = q8_0_step(w + 34 * b, q + 32 * b, d[b], acc0);
  return hsum(_mm256_add_ps(acc0, acc1));
}

PEFT_Q8_AVX2 float row_q4_0_avx2(const uint8_t* w, const int8_t* q, const float* d, const float* s, const int32_t*, int64_t nb) {
  const __m256i m4 = _mm256_set1_epi8(15);
  __m256 acc = _mm256_setzero_ps();
  float off = 0.0f;
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = w + 18 * b;
    const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 2));
    // values 0..15 (low nibbles) then 16..31 (high nibbles), in order
    const __m256i n = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(raw, 4), raw), m4);
    const float dw = f16c(blk);
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot_u8s8(n, load32(q + 32 * b))), _mm256_set1_ps(dw * d[b]), acc);
    off += dw * s[b];
  }
  return hsum(acc) - 8.0f * off;
}

// Each sub-block's products, pair-summed to int16 by maddubs, are multiplied
// by its scale in the madd that sums them to int32 (|lane| ≤ 2·(2·31·127)·63
// per sub-block, eight sub-blocks < 2^23: exact in int32 and in float).
template <bool kFive>
PEFT_Q8_AVX2 float row_q45_k_avx2(const uint8_t* w, const int8_t* q, const float* d, const float*, const int32_t* t,
                                  int64_t nb) {
  constexpr int64_t kBytes = kFive ? 176 : 144;
  const __m256i m4 = _mm256_set1_epi8(15), bit4 = _mm256_set1_epi8(16);
  __m256 acc = _mm256_setzero_ps();
  float off = 0.0f;
  for (int64_t sb = 0; sb < nb; ++sb) {
    const uint8_t* blk = w + kBytes * sb;
    const uint8_t* qs = blk + (kFive ? 48 : 16);
    __m256i qh = _mm256_setzero_si256();
    if (kFive) qh = load32(blk + 16);
    int sc[8], mn[8];
    scales_mins(blk + 4, sc, mn);
    const int8_t* xq = q + 256 * sb;
    __m256i isum = _mm256_setzero_si256();
    for (int g = 0; g < 4; ++g) {
      const __m256i raw = load32(qs + 32 * g);
      __m256i lo = _mm256_and_si256(raw, m4);
      __m256i hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4);
      if (kFive) {
        const __m256i b0 = _mm256_set1_epi8(static_cast<char>(1 << (2 * g)));
        const __m256i b1 = _mm256_set1_epi8(static_cast<char>(1 << (2 * g + 1)));
        lo = _mm256_or_si256(lo, _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(qh, b0), b0), bit4));
        hi = _mm256_or_si256(hi, _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(qh, b1), b1), bit4));
      }
      const __m256i plo = _mm256_maddubs_epi16(lo, load32(xq + 64 * g));
      const __m256i phi = _mm256_maddubs_epi16(hi, load32(xq + 64 * g + 32));
      isum = _mm256_add_epi32(isum, _mm256_madd_epi16(plo, _mm256_set1_epi16(static_cast<int16_t>(sc[2 * g]))));
      isum = _mm256_add_epi32(isum, _mm256_madd_epi16(phi, _mm256_set1_epi16(static_cast<int16_t>(sc[2 * g + 1]))));
    }
    int32_t msum = 0;
    for (int j = 0; j < 8; ++j) msum += mn[j] * t[8 * sb + j];
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_set1_ps(f16c(blk) * d[sb]), acc);
    off += f16c(blk + 2) * d[sb] * static_cast<float>(msum);
  }
  return hsum(acc) - off;
}

PEFT_Q8_AVX2 float row_q6_k_avx2(const uint8_t* w, const int8_t* q, const float* d, const float*, const int32_t*,
                                 int64_t nb) {
  const __m256i m4 = _mm256_set1_epi8(15), m30 = _mm256_set1_epi8(0x30), k32 = _mm256_set1_epi8(32);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t sb = 0; sb < nb; ++sb) {
    const uint8_t* blk = w + 210 * sb;
    const int8_t* sc = reinterpret_cast<const int8_t*>(blk + 192);
    __m256i isum = _mm256_setzero_si256();
    for (int h = 0; h < 2; ++h) {
      const __m256i a = load32(blk + 64 * h), b = load32(blk + 64 * h + 32), hb = load32(blk + 128 + 32 * h);
      // six-bit n = low nibble | two high bits << 4; a 16-bit shift moves a
      // neighbour's bits into each byte, which the masks then drop.
      __m256i n[4];
      n[0] = _mm256_or_si256(_mm256_and_si256(a, m4), _mm256_and_si256(_mm256_slli_epi16(hb, 4), m30));
      n[1] = _mm256_or_si256(_mm256_and_si256(b, m4), _mm256_and_si256(_mm256_slli_epi16(hb, 2), m30));
      n[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(a, 4), m4), _mm256_and_si256(hb, m30));
      n[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(b, 4), m4),
                             _mm256_and_si256(_mm256_srli_epi16(hb, 2), m30));
      for (int k = 0; k < 4; ++k) {
        __m256i u;
        const __m256i sx = sign_fold(_mm256_sub_epi8(n[k], k32), load32(q + 256 * sb + 128 * h + 32 * k), &u);
        // pairs of products (int16), then each pair times its sub-block's
        // scale: the low 128 bits are values 0..15, the high ones 16..31
        // (|lane| ≤ 2·(2·32·127)·128 per group, eight groups < 2^24).
        const __m256i scales =
            _mm256_set_m128i(_mm_set1_epi16(sc[8 * h + 2 * k + 1]), _mm_set1_epi16(sc[8 * h + 2 * k]));
        isum = _mm256_add_epi32(isum, _mm256_madd_epi16(_mm256_maddubs_epi16(u, sx), scales));
      }
    }
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_set1_ps(f16c(blk + 208) * d[sb]), acc);
  }
  return hsum(acc);
}

// CPUID through core/cpu_features: clang 14 rejects "f16c" as a
// __builtin_cpu_supports name.
const bool kHasAvx2 = cpu_has_avx2_fma_f16c();
#else
const bool kHasAvx2 = false;
#endif  // PEFT_Q8_X86

RowDot pick(DType t, bool avx2) {
#ifdef PEFT_Q8_X86
  if (avx2) {
    switch (t) {
      case DType::Q8_0: return row_q8_0_avx2;
      case DType::Q4_0: return row_q4_0_avx2;
      case DType::Q4_K: return row_q45_k_avx2<false>;
      case DType::Q5_K: return row_q45_k_avx2<true>;
      case DType::Q6_K: return row_q6_k_avx2;
      default: return nullptr;
    }
  }
#endif
  switch (t) {
    case DType::Q8_0: return row_q8_0_scalar;
    case DType::Q4_0: return row_q4_0_scalar;
    case DType::Q4_K: return row_q45_k_scalar<false>;
    case DType::Q5_K: return row_q45_k_scalar<true>;
    case DType::Q6_K: return row_q6_k_scalar;
    default: return nullptr;
  }
}

}  // namespace

void quantize_activation(const float* x, int64_t n, Q8Activation& out, int64_t block) {
  PEFT_CHECK(block == 32 || block == 256, "gemv", "activation blocks are of 32 or 256 values");
  PEFT_CHECK(n % block == 0, "gemv", "activation length not a multiple of its block");
  const int64_t nb = n / block;
  out.n = n;
  out.block = block;
  out.q.resize(static_cast<size_t>(n));
  out.d.resize(static_cast<size_t>(nb));
  out.s.resize(static_cast<size_t>(nb));
  out.t.resize(static_cast<size_t>(n / 32));
  for (int64_t b = 0; b < nb; ++b) {
    const float* xb = x + b * block;
    int8_t* qb = out.q.data() + b * block;
    int32_t* tb = out.t.data() + b * block / 32;
    float amax = 0.0f;
    bool finite = true;
    for (int64_t i = 0; i < block; ++i) {
      amax = std::max(amax, std::fabs(xb[i]));
      finite = finite && std::isfinite(xb[i]);
    }
    if (!finite) {  // NaN or inf: the block's factor carries it into y
      std::memset(qb, 0, static_cast<size_t>(block));
      std::memset(tb, 0, static_cast<size_t>(block / 32) * sizeof(int32_t));
      out.d[b] = out.s[b] = std::numeric_limits<float>::quiet_NaN();
      continue;
    }
    const float d = amax / 127.0f;
    const float id = d > 0.0f ? 1.0f / d : 0.0f;
    int32_t sum = 0;
    for (int64_t j = 0; j < block / 32; ++j) {
      int32_t part = 0;
      for (int64_t i = 32 * j; i < 32 * j + 32; ++i) {
        // |x·id| ≤ 127 up to one rounding, so the integer is within [−127, 127].
        const int v = static_cast<int>(std::nearbyint(xb[i] * id));
        qb[i] = static_cast<int8_t>(v);
        part += v;
      }
      tb[j] = part;
      sum += part;
    }
    out.d[b] = d;
    out.s[b] = d * static_cast<float>(sum);
  }
}

int64_t gemv_q8_x_block(DType dtype) { return dtype_block_size(dtype) == 256 ? 256 : 32; }

bool gemv_q8_supports(DType dtype) { return pick(dtype, false) != nullptr; }

bool gemv_q8_has_avx2() { return kHasAvx2; }

void gemv_q8(DType dtype, const void* W, int64_t row_bytes, const Q8Activation& xq, float* y, int64_t rows,
             float beta, DotIsa isa) {
  if (!gemv_q8_supports(dtype)) internal_fail("gemv", std::string("no int8 dot product for ") + dtype_name(dtype));
  if (xq.n % dtype_block_size(dtype) != 0)
    internal_fail("gemv", std::string(dtype_name(dtype)) + " rows of " + std::to_string(xq.n) +
                              " columns are not whole blocks");
  if (xq.block != gemv_q8_x_block(dtype))
    internal_fail("gemv", std::string(dtype_name(dtype)) + " products take x in blocks of " +
                              std::to_string(gemv_q8_x_block(dtype)));
  if (isa == DotIsa::Avx2 && !kHasAvx2) internal_fail("gemv", "AVX2 kernels asked for on a CPU without AVX2");
  const RowDot dot = pick(dtype, isa == DotIsa::Avx2 || (isa == DotIsa::Auto && kHasAvx2));
  if (rows <= 0) return;
  const auto* bytes = static_cast<const uint8_t*>(W);
  const int8_t* q = xq.q.data();
  const float* d = xq.d.data();
  const float* s = xq.s.data();
  const int32_t* t = xq.t.data();
  const int64_t nb = xq.n / xq.block;
  const bool parallel = rows * row_bytes >= kParallelBytes && !omp_in_parallel() && omp_get_max_threads() > 1;
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t r = 0; r < rows; ++r) {
    const float v = dot(bytes + r * row_bytes, q, d, s, t, nb);
    y[r] = beta == 0.0f ? v : v + beta * y[r];
  }
}

void gemv_q8(DType dtype, const void* W, int64_t row_bytes, const float* x, float* y, int64_t rows, int64_t cols,
             float beta) {
  thread_local Q8Activation xq;
  quantize_activation(x, cols, xq, gemv_q8_x_block(dtype));
  gemv_q8(dtype, W, row_bytes, xq, y, rows, beta);
}

bool quant_dot_enabled() {
  static const bool on = [] {
    const char* env = std::getenv("PEFT_QUANT_DOT");
    if (env == nullptr || *env == '\0' || std::strcmp(env, "int8") == 0) return true;
    if (std::strcmp(env, "f32") == 0) return false;
    fail("ops", std::string("PEFT_QUANT_DOT must be int8 or f32, got '") + env + "'");
  }();
  return on;
}

}  // namespace peft::ops
