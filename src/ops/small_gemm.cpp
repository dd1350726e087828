#include "ops/small_gemm.h"

#include <algorithm>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define PEFT_X86 1
#endif

namespace peft::ops {

namespace {

// i-k-j order: row i of C is built from rows of B scaled by A[i, k], the
// inner loop contiguous and vectorisable whatever the ISA.
template <typename T>
void portable(int64_t M, int64_t N, int64_t K, const T* A, int64_t lda, int64_t ka, const T* B, int64_t ldb, T* C, int64_t ldc,
              bool acc) {
  for (int64_t i = 0; i < M; ++i) {
    T* c = C + i * ldc;
    if (!acc) std::fill(c, c + N, T(0));
    for (int64_t k = 0; k < K; ++k) {
      const T a = A[i * lda + k * ka];
      const T* b = B + k * ldb;
#pragma omp simd
      for (int64_t j = 0; j < N; ++j) c[j] += a * b[j];
    }
  }
}

#ifdef PEFT_X86
// R rows of C at once. For each 16-column strip the 2·R accumulators stay in
// registers over the whole K loop (R = 6: 12 accumulators, 2 loads of B and
// 6 broadcasts of A per 12 FMAs); then an 8-column strip, then a masked tail.
template <int R>
__attribute__((target("avx2,fma"))) void rows_avx2(int64_t N, int64_t K, const float* A, int64_t lda, int64_t ka,
                                                    const float* B, int64_t ldb, float* C, int64_t ldc, bool acc) {
  int64_t j = 0;
  for (; j + 16 <= N; j += 16) {
    __m256 c0[R], c1[R];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      c0[r] = acc ? _mm256_loadu_ps(C + r * ldc + j) : _mm256_setzero_ps();
      c1[r] = acc ? _mm256_loadu_ps(C + r * ldc + j + 8) : _mm256_setzero_ps();
    }
    for (int64_t k = 0; k < K; ++k) {
      const float* b = B + k * ldb + j;
      const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) {
        const __m256 a = _mm256_broadcast_ss(A + r * lda + k * ka);
        c0[r] = _mm256_fmadd_ps(a, b0, c0[r]);
        c1[r] = _mm256_fmadd_ps(a, b1, c1[r]);
      }
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      _mm256_storeu_ps(C + r * ldc + j, c0[r]);
      _mm256_storeu_ps(C + r * ldc + j + 8, c1[r]);
    }
  }
  for (; j + 8 <= N; j += 8) {
    __m256 c0[R];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) c0[r] = acc ? _mm256_loadu_ps(C + r * ldc + j) : _mm256_setzero_ps();
    for (int64_t k = 0; k < K; ++k) {
      const __m256 b0 = _mm256_loadu_ps(B + k * ldb + j);
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) c0[r] = _mm256_fmadd_ps(_mm256_broadcast_ss(A + r * lda + k * ka), b0, c0[r]);
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) _mm256_storeu_ps(C + r * ldc + j, c0[r]);
  }
  if (j < N) {
    // Lanes j .. N−1 only: masked loads read nothing past the row's end.
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(N - j)),
                                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    __m256 c0[R];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) c0[r] = acc ? _mm256_maskload_ps(C + r * ldc + j, mask) : _mm256_setzero_ps();
    for (int64_t k = 0; k < K; ++k) {
      const __m256 b0 = _mm256_maskload_ps(B + k * ldb + j, mask);
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) c0[r] = _mm256_fmadd_ps(_mm256_broadcast_ss(A + r * lda + k * ka), b0, c0[r]);
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) _mm256_maskstore_ps(C + r * ldc + j, mask, c0[r]);
  }
}

__attribute__((target("avx2,fma"))) void gemm_avx2(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda,
                                                    int64_t ka, const float* B, int64_t ldb, float* C, int64_t ldc, bool acc) {
  int64_t i = 0;
  for (; i + 6 <= M; i += 6) rows_avx2<6>(N, K, A + i * lda, lda, ka, B, ldb, C + i * ldc, ldc, acc);
  switch (M - i) {
    case 5: rows_avx2<5>(N, K, A + i * lda, lda, ka, B, ldb, C + i * ldc, ldc, acc); break;
    case 4: rows_avx2<4>(N, K, A + i * lda, lda, ka, B, ldb, C + i * ldc, ldc, acc); break;
    case 3: rows_avx2<3>(N, K, A + i * lda, lda, ka, B, ldb, C + i * ldc, ldc, acc); break;
    case 2: rows_avx2<2>(N, K, A + i * lda, lda, ka, B, ldb, C + i * ldc, ldc, acc); break;
    case 1: rows_avx2<1>(N, K, A + i * lda, lda, ka, B, ldb, C + i * ldc, ldc, acc); break;
    default: break;
  }
}

// Decided once: this process's CPU, not the build machine's. The check runs
// during static initialisation, possibly before libgcc's own constructor has
// filled in the CPU model, so it initialises that model itself first
// (GCC documents __builtin_cpu_init for exactly this case).
bool detect_avx2_fma() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
const bool kHasAvx2 = detect_avx2_fma();
#else
const bool kHasAvx2 = false;
#endif

}  // namespace

bool small_gemm_has_avx2() { return kHasAvx2; }

void small_gemm_portable(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, int64_t ka, const float* B,
                         int64_t ldb, float* C, int64_t ldc, bool accumulate) {
  portable(M, N, K, A, lda, ka, B, ldb, C, ldc, accumulate);
}

void small_gemm(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, int64_t ka, const float* B,
                int64_t ldb, float* C, int64_t ldc, bool accumulate) {
  if (M <= 0 || N <= 0) return;
#ifdef PEFT_X86
  if (kHasAvx2) {
    gemm_avx2(M, N, K, A, lda, ka, B, ldb, C, ldc, accumulate);
    return;
  }
#endif
  portable(M, N, K, A, lda, ka, B, ldb, C, ldc, accumulate);
}

void small_gemm(int64_t M, int64_t N, int64_t K, const double* A, int64_t lda, int64_t ka, const double* B,
                int64_t ldb, double* C, int64_t ldc, bool accumulate) {
  if (M <= 0 || N <= 0) return;
  portable(M, N, K, A, lda, ka, B, ldb, C, ldc, accumulate);
}

}  // namespace peft::ops
