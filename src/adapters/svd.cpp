#include "adapters/svd.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"

namespace peft {

namespace {

// Orthogonalises the columns of X (stored column by column: cols[j] has m
// entries) by plane rotations, applying the same rotations to V [n, n]
// (also column by column). Returns when a sweep rotates nothing.
void jacobi_sweeps(std::vector<std::vector<double>>& cols, std::vector<std::vector<double>>& vcols, int64_t m) {
  const int64_t n = static_cast<int64_t>(cols.size());
  const double eps = 1e-15;
  for (int sweep = 0; sweep < 100; ++sweep) {
    bool rotated = false;
    for (int64_t p = 0; p + 1 < n; ++p) {
      for (int64_t q = p + 1; q < n; ++q) {
        double* xp = cols[p].data();
        double* xq = cols[q].data();
        double a = 0, b = 0, g = 0;
        for (int64_t i = 0; i < m; ++i) {
          a += xp[i] * xp[i];
          b += xq[i] * xq[i];
          g += xp[i] * xq[i];
        }
        if (g == 0 || std::fabs(g) <= eps * std::sqrt(a * b)) continue;
        rotated = true;
        // The rotation that zeroes the (p, q) entry of the 2×2 Gram block
        // [[a, g], [g, b]]: tan θ = t, the smaller root of t² + 2ζt − 1 = 0.
        const double zeta = (b - a) / (2 * g);
        const double t = (zeta >= 0 ? 1.0 : -1.0) / (std::fabs(zeta) + std::sqrt(1 + zeta * zeta));
        const double c = 1 / std::sqrt(1 + t * t), s = c * t;
        for (int64_t i = 0; i < m; ++i) {
          const double u = xp[i], v = xq[i];
          xp[i] = c * u - s * v;
          xq[i] = s * u + c * v;
        }
        double* vp = vcols[p].data();
        double* vq = vcols[q].data();
        for (int64_t i = 0; i < n; ++i) {
          const double u = vp[i], v = vq[i];
          vp[i] = c * u - s * v;
          vq[i] = s * u + c * v;
        }
      }
    }
    if (!rotated) return;
  }
}

}  // namespace

Svd svd_jacobi(const double* M, int64_t m, int64_t n) {
  if (m <= 0 || n <= 0) fail("adapters", "svd of an empty matrix");
  for (int64_t i = 0; i < m * n; ++i)
    if (!std::isfinite(M[i])) fail("adapters", "svd: the matrix has a non-finite entry");
  // Work on the tall orientation X = M (m ≥ n) or X = Mᵀ, so that the
  // rotated columns number min(m, n).
  const bool trans = m < n;
  const int64_t rows = trans ? n : m, k = trans ? m : n;
  std::vector<std::vector<double>> cols(k, std::vector<double>(rows));
  std::vector<std::vector<double>> vcols(k, std::vector<double>(k, 0.0));
  for (int64_t j = 0; j < k; ++j) {
    for (int64_t i = 0; i < rows; ++i) cols[j][i] = trans ? M[j * n + i] : M[i * n + j];
    vcols[j][j] = 1;
  }
  jacobi_sweeps(cols, vcols, rows);

  // X V = [x_1 … x_k] = U Σ: σ_j = |x_j|, u_j = x_j / σ_j.
  std::vector<double> sigma(k);
  for (int64_t j = 0; j < k; ++j) {
    double ss = 0;
    for (double v : cols[j]) ss += v * v;
    sigma[j] = std::sqrt(ss);
  }
  std::vector<int64_t> order(k);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return sigma[a] > sigma[b]; });

  // X = U Σ Vᵀ. For M = X that is the answer; for M = Xᵀ, M = V Σ Uᵀ, so the
  // roles of the two factors swap.
  Svd r;
  r.m = m;
  r.n = n;
  r.k = k;
  r.U.assign(m * k, 0.0);
  r.S.assign(k, 0.0);
  r.Vt.assign(k * n, 0.0);
  for (int64_t jj = 0; jj < k; ++jj) {
    const int64_t j = order[jj];
    r.S[jj] = sigma[j];
    const double inv = sigma[j] > 0 ? 1 / sigma[j] : 0;
    // left_x: column j of X's U (length rows); right_x: column j of V (length k).
    for (int64_t i = 0; i < rows; ++i) {
      const double u = cols[j][i] * inv;
      if (!trans) r.U[i * k + jj] = u;   // U [m, k]
      else r.Vt[jj * n + i] = u;         // Vt [k, n], n = rows
    }
    for (int64_t i = 0; i < k; ++i) {
      const double v = vcols[j][i];
      if (!trans) r.Vt[jj * n + i] = v;  // Vt [k, n], n = k
      else r.U[i * k + jj] = v;          // U [m, k], m = k
    }
  }
  return r;
}

namespace {

// Orthonormalises the k columns of Y [rows, k] (row-major) in place by
// modified Gram-Schmidt, twice over for accuracy. A column that vanishes
// becomes zero (it then contributes nothing).
void orthonormalize(std::vector<double>& Y, int64_t rows, int64_t k) {
  for (int pass = 0; pass < 2; ++pass) {
    for (int64_t j = 0; j < k; ++j) {
      for (int64_t p = 0; p < j; ++p) {
        double d = 0;
        for (int64_t i = 0; i < rows; ++i) d += Y[i * k + p] * Y[i * k + j];
        for (int64_t i = 0; i < rows; ++i) Y[i * k + j] -= d * Y[i * k + p];
      }
      double nn = 0;
      for (int64_t i = 0; i < rows; ++i) nn += Y[i * k + j] * Y[i * k + j];
      const double inv = nn > 1e-300 ? 1 / std::sqrt(nn) : 0;
      for (int64_t i = 0; i < rows; ++i) Y[i * k + j] *= inv;
    }
  }
}

// C [m, k] = M [m, n] · X [n, k].
std::vector<double> mul(const double* M, int64_t m, int64_t n, const std::vector<double>& X, int64_t k) {
  std::vector<double> C(m * k, 0.0);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t l = 0; l < n; ++l) {
      const double a = M[i * n + l];
      if (a == 0) continue;
      for (int64_t j = 0; j < k; ++j) C[i * k + j] += a * X[l * k + j];
    }
  return C;
}

// C [n, k] = Mᵀ · X, M [m, n], X [m, k].
std::vector<double> mul_t(const double* M, int64_t m, int64_t n, const std::vector<double>& X, int64_t k) {
  std::vector<double> C(n * k, 0.0);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t l = 0; l < n; ++l) {
      const double a = M[i * n + l];
      if (a == 0) continue;
      for (int64_t j = 0; j < k; ++j) C[l * k + j] += a * X[i * k + j];
    }
  return C;
}

}  // namespace

Svd svd_lowrank(const double* M, int64_t m, int64_t n, int64_t k, int niter, Rng& rng) {
  if (m <= 0 || n <= 0 || k <= 0) fail("adapters", "svd_lowrank of an empty matrix or rank");
  if (niter < 0) fail("adapters", "svd_lowrank: negative iteration count");
  k = std::min({k, m, n});
  std::vector<double> omega(n * k);
  for (auto& v : omega) v = rng.normal();
  std::vector<double> Q = mul(M, m, n, omega, k);  // [m, k]
  orthonormalize(Q, m, k);
  for (int it = 0; it < niter; ++it) {
    std::vector<double> Z = mul_t(M, m, n, Q, k);  // [n, k]
    orthonormalize(Z, n, k);
    Q = mul(M, m, n, Z, k);
    orthonormalize(Q, m, k);
  }
  // Small [k, n] = Qᵀ M, then its exact SVD: M ≈ Q Ub S Vt.
  std::vector<double> small = mul_t(Q.data(), m, k, std::vector<double>(M, M + m * n), n);  // [k, n]
  Svd s = svd_jacobi(small.data(), k, n);
  Svd r;
  r.m = m;
  r.n = n;
  r.k = s.k;
  r.S = s.S;
  r.Vt = s.Vt;
  r.U.assign(m * s.k, 0.0);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t a = 0; a < k; ++a) {
      const double q = Q[i * k + a];
      for (int64_t j = 0; j < s.k; ++j) r.U[i * s.k + j] += q * s.U[a * s.k + j];
    }
  return r;
}

}  // namespace peft
