#include "ops/matmul.h"

#include <oneapi/dnnl/dnnl.h>

#include "core/error.h"
#include "ops/gemv.h"

namespace peft::ops {

template <typename T>
void gemm_ref(bool ta, bool tb, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda, const T* B,
              int64_t ldb, T beta, T* C, int64_t ldc) {
  for (int64_t i = 0; i < M; ++i) {
    for (int64_t j = 0; j < N; ++j) {
      double acc = 0;
      for (int64_t k = 0; k < K; ++k) {
        double a = ta ? A[k * lda + i] : A[i * lda + k];
        double b = tb ? B[j * ldb + k] : B[k * ldb + j];
        acc += a * b;
      }
      double c = beta == T(0) ? 0.0 : static_cast<double>(beta) * C[i * ldc + j];
      C[i * ldc + j] = static_cast<T>(static_cast<double>(alpha) * acc + c);
    }
  }
}

template <>
void gemm<double>(bool ta, bool tb, int64_t M, int64_t N, int64_t K, double alpha, const double* A, int64_t lda,
                  const double* B, int64_t ldb, double beta, double* C, int64_t ldc) {
  gemm_ref<double>(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

template <>
void gemm<float>(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                 const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  if (K == 0) {
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
    return;
  }
  if (M == 1 && !ta && tb) {
    // One row times Bᵀ (a linear layer on a single token, the decode step):
    // a matrix-vector product over B's rows streams B once (ops/gemv.h),
    // where sgemm would pack it first.
    gemv_f32(B, ldb, A, C, N, K, alpha, beta);
    return;
  }
  dnnl_status_t st = dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  PEFT_CHECK(st == dnnl_success, "matmul", "dnnl_sgemm failed");
}

template <typename T>
void linear_forward(const T* x, const T* W, T* y, int64_t n, int64_t in, int64_t out, T beta) {
  gemm<T>(false, true, n, out, in, T(1), x, in, W, in, beta, y, out);
}
template <typename T>
void linear_backward_input(const T* dy, const T* W, T* dx, int64_t n, int64_t in, int64_t out, T beta) {
  gemm<T>(false, false, n, in, out, T(1), dy, out, W, in, beta, dx, in);
}
template <typename T>
void linear_backward_weight(const T* dy, const T* x, T* dW, int64_t n, int64_t in, int64_t out) {
  gemm<T>(true, false, out, in, n, T(1), dy, out, x, in, T(1), dW, in);
}

template void gemm_ref<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t, const float*,
                              int64_t, float, float*, int64_t);
template void gemm_ref<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*, int64_t,
                               const double*, int64_t, double, double*, int64_t);
#define PEFT_INST(T)                                                                            \
  template void linear_forward<T>(const T*, const T*, T*, int64_t, int64_t, int64_t, T);        \
  template void linear_backward_input<T>(const T*, const T*, T*, int64_t, int64_t, int64_t, T); \
  template void linear_backward_weight<T>(const T*, const T*, T*, int64_t, int64_t, int64_t);
PEFT_INST(float)
PEFT_INST(double)
#undef PEFT_INST

}  // namespace peft::ops
