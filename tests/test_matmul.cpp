// Direct checks of the GEMM wrapper (ops/matmul.h) against a naive product
// written here in long double: every transpose combination, leading
// dimensions larger than the rows they hold, alpha/beta, and odd sizes.
//
// Tolerance. Inputs are generated as floats, so they are exact in every
// precision used. Any summation order of a length-K dot product satisfies
// |computed − exact| ≤ γ_K · Σ|a_k b_k| with γ_K = K·u/(1 − K·u) (Higham,
// "Accuracy and Stability of Numerical Algorithms", §3.1); the alpha scaling
// and the beta·C addition add at most 3 more roundings. So per element
//   |C − C_ref| ≤ (K + 3)·u·(|alpha|·Σ_k|a_ik b_kj| + |beta|·|C0_ij|) · 1.01
// with u = 2⁻²⁴ for float and 2⁻⁵³ for double (the long double reference
// has u = 2⁻⁶⁴, small enough to ignore next to those). This bound holds for
// oneDNN's blocked and FMA kernels too, so a failure is a real bug
// (wrong transpose, wrong stride, ignored beta, an element read or written
// out of place), never rounding.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <vector>

#include "core/rng.h"
#include "ops/matmul.h"

using namespace peft;

namespace {

// A row-major matrix of `rows` rows stored with leading dimension ld ≥ cols.
// The padding holds a poison value: NaN for inputs (reading it would spread
// NaN into the result) and a sentinel for outputs (writing it is caught).
template <typename T>
struct Strided {
  int64_t rows = 0, cols = 0, ld = 0;
  std::vector<T> v;
  Strided(int64_t r, int64_t c, int64_t pad, T poison) : rows(r), cols(c), ld(c + pad), v(r * (c + pad), poison) {}
  T& at(int64_t i, int64_t j) { return v[i * ld + j]; }
  T at(int64_t i, int64_t j) const { return v[i * ld + j]; }
};

template <typename T>
void fill(Strided<T>& m, Rng& rng) {
  for (int64_t i = 0; i < m.rows; ++i)
    for (int64_t j = 0; j < m.cols; ++j) m.at(i, j) = static_cast<T>(rng.uniform(-1.0f, 1.0f));
}

struct Worst {
  double ratio = 0;  // max |err| / bound
  double rel = 0;    // max |err| / Σ|a b| (the measured relative error)
};

constexpr float kSentinel = 12345.0f;

// Runs gemm<T> on one case and compares every element with the reference.
// Returns false (after reporting) on the first failing case.
template <typename T>
bool check_case(bool ta, bool tb, int64_t M, int64_t N, int64_t K, T alpha, T beta, int64_t pad, Rng& rng,
                Worst& worst) {
  const T nan = std::numeric_limits<T>::quiet_NaN();
  // op(A) is [M, K]: A is stored [K, M] when transposed, likewise B.
  Strided<T> A(ta ? K : M, ta ? M : K, pad, nan);
  Strided<T> B(tb ? N : K, tb ? K : N, pad + 3, nan);
  Strided<T> C(M, N, pad + 1, static_cast<T>(kSentinel));
  fill(A, rng);
  fill(B, rng);
  // beta = 0 must ignore C altogether (BLAS semantics): fill it with NaN then.
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) C.at(i, j) = beta == T(0) ? nan : static_cast<T>(rng.uniform(-1.0f, 1.0f));
  const Strided<T> C0 = C;

  ops::gemm<T>(ta, tb, M, N, K, alpha, A.v.data(), A.ld, B.v.data(), B.ld, beta, C.v.data(), C.ld);

  const double u = std::is_same_v<T, float> ? std::ldexp(1.0, -24) : std::ldexp(1.0, -53);
  for (int64_t i = 0; i < M; ++i) {
    for (int64_t j = 0; j < N; ++j) {
      long double acc = 0, mag = 0;
      for (int64_t k = 0; k < K; ++k) {
        const long double a = ta ? A.at(k, i) : A.at(i, k);
        const long double b = tb ? B.at(j, k) : B.at(k, j);
        acc += a * b;
        mag += std::fabs(a * b);
      }
      const long double c0 = beta == T(0) ? 0.0L : static_cast<long double>(C0.at(i, j));
      const long double want = static_cast<long double>(alpha) * acc + static_cast<long double>(beta) * c0;
      const double scale = static_cast<double>(std::fabs(static_cast<long double>(alpha)) * mag +
                                               std::fabs(static_cast<long double>(beta) * c0));
      const double bound = 1.01 * static_cast<double>(K + 3) * u * scale + 1e-300;
      const double err = std::fabs(static_cast<double>(static_cast<long double>(C.at(i, j)) - want));
      if (!(err <= bound)) {
        ADD_FAILURE() << "gemm<" << (sizeof(T) == 4 ? "float" : "double") << "> ta=" << ta << " tb=" << tb
                      << " M=" << M << " N=" << N << " K=" << K << " alpha=" << alpha << " beta=" << beta
                      << " pad=" << pad << ": C[" << i << "," << j << "] = " << C.at(i, j) << ", expected "
                      << static_cast<double>(want) << " (bound " << bound << ")";
        return false;
      }
      worst.ratio = std::max(worst.ratio, err / bound);
      if (scale > 0) worst.rel = std::max(worst.rel, err / scale);
    }
    // The padding of C is never written.
    for (int64_t j = N; j < C.ld; ++j)
      if (C.at(i, j) != static_cast<T>(kSentinel)) {
        ADD_FAILURE() << "gemm wrote C[" << i << "," << j << "] beyond N=" << N << " (ldc " << C.ld << ")";
        return false;
      }
  }
  return true;
}

template <typename T>
void sweep(const char* label) {
  const int64_t sizes[] = {1, 7, 33, 130};
  struct AB {
    T alpha, beta;
  };
  const AB scalings[] = {{T(1), T(0)}, {T(-0.75), T(1)}, {T(1.5), T(-0.5)}};
  Rng rng(2024);
  Worst worst;
  int cases = 0;
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb)
      for (int64_t M : sizes)
        for (int64_t N : sizes)
          for (int64_t K : sizes) {
            // Every scaling on the cheap shapes; one (rotating) on the largest.
            for (size_t s = 0; s < 3; ++s) {
              if (M * N * K > 33 * 33 * 130 && s != static_cast<size_t>(cases % 3)) continue;
              const int64_t pad = (M + N + K + s) % 3 == 0 ? 0 : 5;  // tight and padded strides both appear
              if (!check_case<T>(ta, tb, M, N, K, scalings[s].alpha, scalings[s].beta, pad, rng, worst)) return;
              ++cases;
            }
          }
  EXPECT_GT(cases, 300);
  std::printf("gemm<%s>: %d cases, max |err|/Σ|ab| = %.3g, max err/bound = %.3g\n", label, cases, worst.rel,
              worst.ratio);
}

}  // namespace

TEST(Gemm, FloatAllTransposesStridesAndScalings) { sweep<float>("float"); }

TEST(Gemm, DoubleAllTransposesStridesAndScalings) { sweep<double>("double"); }

TEST(Gemm, EmptyInnerDimensionScalesC) {
  // K = 0: C = beta·C (and beta = 0 clears it, even over NaN).
  Rng rng(5);
  Worst w;
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb) {
      EXPECT_TRUE(check_case<float>(ta, tb, 7, 33, 0, 1.0f, 0.0f, 2, rng, w));
      EXPECT_TRUE(check_case<float>(ta, tb, 7, 33, 0, 1.0f, -2.0f, 2, rng, w));
      EXPECT_TRUE(check_case<double>(ta, tb, 7, 33, 0, 1.0, 0.5, 2, rng, w));
    }
}

TEST(Gemm, LinearHelpersUseTheWeightLayout) {
  // y = x Wᵀ (+ beta y), dx = dy W (+ beta dx), dW += dyᵀ x, with W [out, in],
  // against sums written out here.
  const int64_t n = 33, in = 7, out = 130;
  Rng rng(9);
  std::vector<float> x(n * in), W(out * in), dy(n * out);
  for (float& f : x) f = rng.uniform(-1, 1);
  for (float& f : W) f = rng.uniform(-1, 1);
  for (float& f : dy) f = rng.uniform(-1, 1);
  const double tol_u = 1.01 * (130 + 3) * std::ldexp(1.0, -24);

  std::vector<float> y(n * out, 0.5f);
  ops::linear_forward<float>(x.data(), W.data(), y.data(), n, in, out, 1.0f);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t o = 0; o < out; ++o) {
      double s = 0.5, mag = 0.5;
      for (int64_t i = 0; i < in; ++i) {
        s += double(x[r * in + i]) * W[o * in + i];
        mag += std::fabs(double(x[r * in + i]) * W[o * in + i]);
      }
      ASSERT_NEAR(y[r * out + o], s, tol_u * mag) << r << "," << o;
    }

  std::vector<float> dx(n * in, std::numeric_limits<float>::quiet_NaN());
  ops::linear_backward_input<float>(dy.data(), W.data(), dx.data(), n, in, out);  // beta 0 ignores the NaN
  for (int64_t r = 0; r < n; ++r)
    for (int64_t i = 0; i < in; ++i) {
      double s = 0, mag = 0;
      for (int64_t o = 0; o < out; ++o) {
        s += double(dy[r * out + o]) * W[o * in + i];
        mag += std::fabs(double(dy[r * out + o]) * W[o * in + i]);
      }
      ASSERT_NEAR(dx[r * in + i], s, tol_u * mag) << r << "," << i;
    }

  std::vector<float> dW(out * in, 0.25f);  // accumulates
  ops::linear_backward_weight<float>(dy.data(), x.data(), dW.data(), n, in, out);
  for (int64_t o = 0; o < out; ++o)
    for (int64_t i = 0; i < in; ++i) {
      double s = 0.25, mag = 0.25;
      for (int64_t r = 0; r < n; ++r) {
        s += double(dy[r * out + o]) * x[r * in + i];
        mag += std::fabs(double(dy[r * out + o]) * x[r * in + i]);
      }
      ASSERT_NEAR(dW[o * in + i], s, tol_u * mag) << o << "," << i;
    }
}
