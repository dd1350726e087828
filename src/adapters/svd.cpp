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

}  // namespace peft
