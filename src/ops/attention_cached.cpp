#include "ops/attention_cached.h"

#include <omp.h>

#include <algorithm>
#include <limits>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/error.h"
#include "ops/vec_exp.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define PEFT_ATTN_AVX2 1
#endif

namespace peft::ops {
namespace {

// Below this many multiply-adds the calling thread does it all.
constexpr int64_t kParallelWork = 1 << 15;

template <typename T>
T* score_buffer(int64_t n) {
  thread_local std::vector<T> buf;
  if (static_cast<int64_t>(buf.size()) < n) buf.resize(static_cast<size_t>(n));
  return buf.data();
}

inline double widen(double x) { return x; }
inline float widen(float x) { return x; }
inline float widen(uint16_t x) { return bf16_to_f32(x); }

// One query row of one head over `len` keys: scores into sc [len], then
//   out = Σ_j softmax(sc)_j v_j.
// Keys/values of this head are rows kg + j·ldk, vg + j·ldk of D values.
template <typename T, typename Kv>
void attend_scalar(const T* qi, const Kv* kg, const Kv* vg, int64_t ldk, int64_t len, int64_t D, T scale, T* sc,
                   T* oi) {
  T mx = -std::numeric_limits<T>::infinity();
  for (int64_t j = 0; j < len; ++j) {
    T dot = 0;
    for (int64_t d = 0; d < D; ++d) dot += qi[d] * widen(kg[j * ldk + d]);
    sc[j] = scale * dot;
    mx = std::max(mx, sc[j]);
  }
  const T inv = static_cast<T>(1.0 / exp_shift_sum(sc, len, mx));
  std::fill(oi, oi + D, T(0));
  for (int64_t j = 0; j < len; ++j)
    for (int64_t d = 0; d < D; ++d) oi[d] += sc[j] * widen(vg[j * ldk + d]);
  for (int64_t d = 0; d < D; ++d) oi[d] *= inv;
}

template <typename T, typename Kv>
void attend(const T* qi, const Kv* kg, const Kv* vg, int64_t ldk, int64_t len, int64_t D, T scale, T* sc, T* oi) {
  attend_scalar(qi, kg, vg, ldk, len, D, scale, sc, oi);
}

#ifdef PEFT_ATTN_AVX2
inline __m256 load8(const float* p) { return _mm256_loadu_ps(p); }
inline __m256 load8(const uint16_t* p) {
  const __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
}

// Eight keys' dot products at once: eight accumulators over D (a multiple
// of 8), then one horizontal reduction that leaves the eight sums in one
// register (three levels of hadd), instead of a horizontal sum per key.
template <typename Kv>
inline __m256 dot8(const float* qi, const Kv* k0, int64_t ldk, int64_t D) {
  __m256 a[8];
  for (int i = 0; i < 8; ++i) a[i] = _mm256_setzero_ps();
  for (int64_t d = 0; d < D; d += 8) {
    const __m256 qv = _mm256_loadu_ps(qi + d);
    for (int i = 0; i < 8; ++i) a[i] = _mm256_fmadd_ps(qv, load8(k0 + i * ldk + d), a[i]);
  }
  const __m256 h01 = _mm256_hadd_ps(a[0], a[1]), h23 = _mm256_hadd_ps(a[2], a[3]);
  const __m256 h45 = _mm256_hadd_ps(a[4], a[5]), h67 = _mm256_hadd_ps(a[6], a[7]);
  const __m256 h0123 = _mm256_hadd_ps(h01, h23), h4567 = _mm256_hadd_ps(h45, h67);
  // Lane l of h0123 holds key l's low half (l < 4) and key l−4's high half.
  return _mm256_add_ps(_mm256_permute2f128_ps(h0123, h4567, 0x20), _mm256_permute2f128_ps(h0123, h4567, 0x31));
}

inline float hmax(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

// exp(x) for eight lanes: ops/vec_exp.h's exp_fast (same reduction and
// degree-7 polynomial, 0 below −87.3) written with AVX2, since the compiler
// leaves the scalar one unvectorised inside this loop.
inline __m256 exp8(__m256 x) {
  const __m256 round = _mm256_set1_ps(12582912.0f);
  const __m256 xc = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-88.0f)), _mm256_set1_ps(88.0f));
  const __m256 t = _mm256_fmadd_ps(xc, _mm256_set1_ps(1.44269504088896341f), round);
  const __m256i n = _mm256_sub_epi32(_mm256_castps_si256(t), _mm256_castps_si256(round));
  const __m256 nf = _mm256_sub_ps(t, round);
  __m256 r = _mm256_fnmadd_ps(nf, _mm256_set1_ps(0.693359375f), xc);
  r = _mm256_fnmadd_ps(nf, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.0f / 5040.0f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 720.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  const __m256 scale = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n, _mm256_set1_epi32(127)), 23));
  const __m256 under = _mm256_cmp_ps(x, _mm256_set1_ps(-87.3f), _CMP_LT_OQ);
  return _mm256_andnot_ps(under, _mm256_mul_ps(p, scale));
}

// sc[j] ← exp(sc[j] − mx); returns Σ sc[j] (each term ≤ 1, summed in
// eight float lanes: contexts of a few thousand keys lose < 1e-6).
inline float softmax_numerators(float* sc, int64_t len, float mx) {
  const __m256 m = _mm256_set1_ps(mx);
  __m256 acc = _mm256_setzero_ps();
  int64_t j = 0;
  for (; j + 8 <= len; j += 8) {
    const __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(sc + j), m));
    _mm256_storeu_ps(sc + j, e);
    acc = _mm256_add_ps(acc, e);
  }
  __m128 h = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
  h = _mm_add_ps(h, _mm_movehl_ps(h, h));
  h = _mm_add_ss(h, _mm_movehdup_ps(h));
  float sum = _mm_cvtss_f32(h);
  for (; j < len; ++j) {
    sc[j] = exp_fast(sc[j] - mx);
    sum += sc[j];
  }
  return sum;
}

// out[0 .. 8W) = inv · Σ_j p[j] · v_j[0 .. 8W): W registers of output
// columns held across all keys, two keys per step (two chains per register).
template <int W, typename Kv>
inline void weighted_sum(const float* p, const Kv* vc, int64_t ldk, int64_t len, float inv, float* out) {
  __m256 a[W], b[W];
  for (int i = 0; i < W; ++i) a[i] = b[i] = _mm256_setzero_ps();
  int64_t j = 0;
  for (; j + 2 <= len; j += 2) {
    const __m256 p0 = _mm256_set1_ps(p[j]), p1 = _mm256_set1_ps(p[j + 1]);
    const Kv* v0 = vc + j * ldk;
    const Kv* v1 = v0 + ldk;
    for (int i = 0; i < W; ++i) {
      a[i] = _mm256_fmadd_ps(p0, load8(v0 + 8 * i), a[i]);
      b[i] = _mm256_fmadd_ps(p1, load8(v1 + 8 * i), b[i]);
    }
  }
  if (j < len) {
    const __m256 p0 = _mm256_set1_ps(p[j]);
    for (int i = 0; i < W; ++i) a[i] = _mm256_fmadd_ps(p0, load8(vc + j * ldk + 8 * i), a[i]);
  }
  const __m256 iv = _mm256_set1_ps(inv);
  for (int i = 0; i < W; ++i) _mm256_storeu_ps(out + 8 * i, _mm256_mul_ps(iv, _mm256_add_ps(a[i], b[i])));
}

// Float compute, D a multiple of 8: scores eight keys at a time, softmax
// eight lanes at a time, and the weighted sum of values 32 output columns at
// a time in registers (a sum in memory would wait on its own store every key).
template <typename Kv>
void attend_avx2(const float* qi, const Kv* kg, const Kv* vg, int64_t ldk, int64_t len, int64_t D, float scale,
                 float* sc, float* oi) {
  const __m256 sv = _mm256_set1_ps(scale);
  __m256 mv = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
  int64_t j = 0;
  for (; j + 8 <= len; j += 8) {
    const __m256 s8 = _mm256_mul_ps(sv, dot8(qi, kg + j * ldk, ldk, D));
    _mm256_storeu_ps(sc + j, s8);
    mv = _mm256_max_ps(mv, s8);
  }
  float mx = hmax(mv);
  for (; j < len; ++j) {
    __m256 a = _mm256_setzero_ps();
    for (int64_t d = 0; d < D; d += 8) a = _mm256_fmadd_ps(_mm256_loadu_ps(qi + d), load8(kg + j * ldk + d), a);
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_movehdup_ps(h));
    sc[j] = scale * _mm_cvtss_f32(h);
    mx = std::max(mx, sc[j]);
  }
  const float inv = 1.0f / softmax_numerators(sc, len, mx);
  int64_t d0 = 0;
  for (; d0 + 32 <= D; d0 += 32) weighted_sum<4>(sc, vg + d0, ldk, len, inv, oi + d0);
  switch ((D - d0) / 8) {
    case 3: weighted_sum<3>(sc, vg + d0, ldk, len, inv, oi + d0); break;
    case 2: weighted_sum<2>(sc, vg + d0, ldk, len, inv, oi + d0); break;
    case 1: weighted_sum<1>(sc, vg + d0, ldk, len, inv, oi + d0); break;
    default: break;
  }
}

template <>
void attend<float, float>(const float* qi, const float* kg, const float* vg, int64_t ldk, int64_t len, int64_t D,
                          float scale, float* sc, float* oi) {
  if (D % 8 == 0)
    attend_avx2(qi, kg, vg, ldk, len, D, scale, sc, oi);
  else
    attend_scalar(qi, kg, vg, ldk, len, D, scale, sc, oi);
}
template <>
void attend<float, uint16_t>(const float* qi, const uint16_t* kg, const uint16_t* vg, int64_t ldk, int64_t len,
                             int64_t D, float scale, float* sc, float* oi) {
  if (D % 8 == 0)
    attend_avx2(qi, kg, vg, ldk, len, D, scale, sc, oi);
  else
    attend_scalar(qi, kg, vg, ldk, len, D, scale, sc, oi);
}
#endif  // PEFT_ATTN_AVX2

}  // namespace

template <typename T, typename Kv>
void attention_cached(const T* q, const Kv* k, const Kv* v, T* out, const CachedAttnShape& s) {
  if (s.n <= 0 || s.p0 < 0 || s.Hq <= 0 || s.Hkv <= 0 || s.D <= 0 || s.Hq % s.Hkv != 0)
    fail("attention", "bad cached shape: n " + std::to_string(s.n) + ", p0 " + std::to_string(s.p0) + ", Hq " +
                          std::to_string(s.Hq) + ", Hkv " + std::to_string(s.Hkv) + ", D " + std::to_string(s.D));
  const int64_t rep = s.Hq / s.Hkv, ldq = s.Hq * s.D, ldk = s.Hkv * s.D, D = s.D;
  const int64_t tasks = s.n * s.Hq;
  const int64_t work = tasks * (s.p0 + s.n) * D;
  const T scale = static_cast<T>(s.scale);
  const bool parallel = work >= kParallelWork && !omp_in_parallel() && omp_get_max_threads() > 1;
#pragma omp parallel for schedule(dynamic, 1) if (parallel)
  for (int64_t task = 0; task < tasks; ++task) {
    // Last queries first: they see the most keys.
    const int64_t i = s.n - 1 - task / s.Hq, h = task % s.Hq, g = h / rep;
    const int64_t len = s.p0 + i + 1;
    attend(q + i * ldq + h * D, k + g * D, v + g * D, ldk, len, D, scale, score_buffer<T>(len), out + i * ldq + h * D);
  }
}

template void attention_cached<float, float>(const float*, const float*, const float*, float*, const CachedAttnShape&);
template void attention_cached<float, uint16_t>(const float*, const uint16_t*, const uint16_t*, float*,
                                                const CachedAttnShape&);
template void attention_cached<double, double>(const double*, const double*, const double*, double*,
                                               const CachedAttnShape&);

}  // namespace peft::ops
