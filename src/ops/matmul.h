// The one GEMM entry point (DESIGN.md): every large matrix product goes
// through here, so speed work (oneDNN, bf16 on AMX, CUDA) happens in one place.
//
// All matrices are row-major. op(X) is X or Xᵀ by the trans flags.
//   C[M,N] = alpha · op(A)[M,K] · op(B)[K,N] + beta · C
// T = float runs oneDNN's sgemm; T = double runs the scalar reference (used by
// the double-precision gradient checks).
#pragma once
#include <cstdint>

namespace peft::ops {

template <typename T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda,
          const T* B, int64_t ldb, T beta, T* C, int64_t ldc);

// Plain triple loop with a double accumulator: the reference twin.
template <typename T>
void gemm_ref(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda,
              const T* B, int64_t ldb, T beta, T* C, int64_t ldc);

// Linear layer products with PyTorch's weight layout W [out, in]:
//   forward      y[n,out]  = x[n,in] · Wᵀ           (+ beta · y)
//   input grad   dx[n,in]  = dy[n,out] · W           (+ beta · dx)
//   weight grad  dW[out,in] += dy[n,out]ᵀ · x[n,in]
template <typename T>
void linear_forward(const T* x, const T* W, T* y, int64_t n, int64_t in, int64_t out, T beta = T(0));
template <typename T>
void linear_backward_input(const T* dy, const T* W, T* dx, int64_t n, int64_t in, int64_t out, T beta = T(0));
template <typename T>
void linear_backward_weight(const T* dy, const T* x, T* dW, int64_t n, int64_t in, int64_t out);

}  // namespace peft::ops
