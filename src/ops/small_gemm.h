// Small row-major matrix products for the tiles inside fused kernels
// (attention): no threading, no packing, no library call, so a 64 × 64 × 64
// product costs what its FLOPs cost. Large products go through ops/matmul.
//   C[M,N] = A[M,K] · B[K,N]            (accumulate = false)
//   C[M,N] += A[M,K] · B[K,N]           (accumulate = true)
// with row strides ldb, ldc, and A(i, k) = A[i·lda + k·ka]: ka = 1 is a
// row-major A, lda = 1 and ka = M's stride reads a stored Aᵀ without
// transposing it (the attention kernels keep their score tiles key-major). The float version picks an AVX2 + FMA
// register-blocked kernel at run time when the CPU has it (6 rows × 16
// columns of accumulators), else a plain loop; double is always the plain
// loop (the gradient checks use it).
#pragma once
#include <cstdint>

namespace peft::ops {

void small_gemm(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, int64_t ka, const float* B,
                int64_t ldb, float* C, int64_t ldc, bool accumulate);
void small_gemm(int64_t M, int64_t N, int64_t K, const double* A, int64_t lda, int64_t ka, const double* B,
                int64_t ldb, double* C, int64_t ldc, bool accumulate);

// The plain loop, whatever the CPU (tests compare the two).
void small_gemm_portable(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, int64_t ka, const float* B,
                         int64_t ldb, float* C, int64_t ldc, bool accumulate);

// True when small_gemm(float) runs the AVX2 + FMA kernel on this CPU.
bool small_gemm_has_avx2();

}  // namespace peft::ops
