#include "report/pca.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace peft::report {

namespace {

using Vec = std::vector<double>;

double dot(const Vec& a, const Vec& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

// Modified Gram–Schmidt on the columns of Q (each a Vec). A column that
// vanishes (rank-deficient data) is replaced by a unit vector orthogonal to
// the others, so the block always spans p directions.
void orthonormalise(std::vector<Vec>& q) {
  const size_t d = q.front().size();
  for (size_t j = 0; j < q.size(); ++j) {
    for (int pass = 0; pass < 2; ++pass)  // twice: "twice is enough" for orthogonality
      for (size_t k = 0; k < j; ++k) {
        const double c = dot(q[j], q[k]);
        for (size_t i = 0; i < d; ++i) q[j][i] -= c * q[k][i];
      }
    double n = std::sqrt(dot(q[j], q[j]));
    if (n < 1e-300) {
      // Try coordinate vectors until one is independent of the others.
      for (size_t e = 0; e < d && n < 0.5; ++e) {
        std::fill(q[j].begin(), q[j].end(), 0.0);
        q[j][e] = 1;
        for (size_t k = 0; k < j; ++k) {
          const double c = dot(q[j], q[k]);
          for (size_t i = 0; i < d; ++i) q[j][i] -= c * q[k][i];
        }
        n = std::sqrt(dot(q[j], q[j]));
      }
    }
    for (double& v : q[j]) v /= n;
  }
}

// Eigen-decomposition of a small symmetric matrix by cyclic Jacobi
// rotations: a = V·diag(w)·Vᵀ, eigenvalues in w, eigenvectors as V's columns.
void jacobi(std::vector<Vec>& a, Vec& w, std::vector<Vec>& v) {
  const size_t p = a.size();
  v.assign(p, Vec(p, 0.0));
  for (size_t i = 0; i < p; ++i) v[i][i] = 1;
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0;
    for (size_t i = 0; i < p; ++i)
      for (size_t j = i + 1; j < p; ++j) off += a[i][j] * a[i][j];
    if (off < 1e-30) break;
    for (size_t i = 0; i < p; ++i)
      for (size_t j = i + 1; j < p; ++j) {
        if (std::fabs(a[i][j]) < 1e-300) continue;
        // The rotation that zeroes a[i][j]: tan 2θ = 2a_ij / (a_jj − a_ii).
        const double theta = (a[j][j] - a[i][i]) / (2 * a[i][j]);
        const double t = (theta >= 0 ? 1 : -1) / (std::fabs(theta) + std::sqrt(theta * theta + 1));
        const double c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (size_t k = 0; k < p; ++k) {  // columns i and j
          const double aki = a[k][i], akj = a[k][j];
          a[k][i] = c * aki - s * akj;
          a[k][j] = s * aki + c * akj;
        }
        for (size_t k = 0; k < p; ++k) {  // rows i and j
          const double aik = a[i][k], ajk = a[j][k];
          a[i][k] = c * aik - s * ajk;
          a[j][k] = s * aik + c * ajk;
        }
        for (size_t k = 0; k < p; ++k) {
          const double vki = v[k][i], vkj = v[k][j];
          v[k][i] = c * vki - s * vkj;
          v[k][j] = s * vki + c * vkj;
        }
      }
  }
  w.resize(p);
  for (size_t i = 0; i < p; ++i) w[i] = a[i][i];
}

}  // namespace

std::array<double, 2> Pca2::project(const std::vector<float>& x) const {
  std::array<double, 2> out{0, 0};
  for (int c = 0; c < 2; ++c)
    for (int64_t i = 0; i < dim; ++i) out[c] += (static_cast<double>(x[i]) - mean[i]) * axis[c][i];
  return out;
}

Pca2 fit_pca2(const std::vector<const std::vector<float>*>& rows) {
  if (rows.empty()) throw std::invalid_argument("PCA of no vectors");
  const size_t d = rows.front()->size(), n = rows.size();
  if (d == 0) throw std::invalid_argument("PCA of empty vectors");
  for (const auto* r : rows)
    if (r->size() != d) throw std::invalid_argument("PCA of vectors of different lengths");
  Pca2 p;
  p.dim = static_cast<int64_t>(d);
  p.mean.assign(d, 0.0);
  for (const auto* r : rows)
    for (size_t i = 0; i < d; ++i) p.mean[i] += (*r)[i];
  for (double& m : p.mean) m /= static_cast<double>(n);
  std::vector<Vec> x(n, Vec(d));  // centred rows
  for (size_t k = 0; k < n; ++k)
    for (size_t i = 0; i < d; ++i) {
      x[k][i] = (*rows[k])[i] - p.mean[i];
      p.total_variance += x[k][i] * x[k][i];
    }
  p.total_variance /= static_cast<double>(n);
  // C·v = Xᵀ(X·v) / n.
  auto apply = [&](const Vec& v) {
    Vec out(d, 0.0);
    for (const Vec& r : x) {
      const double c = dot(r, v);
      for (size_t i = 0; i < d; ++i) out[i] += c * r[i];
    }
    for (double& o : out) o /= static_cast<double>(n);
    return out;
  };
  // A block of 6 vectors (or d): the two wanted directions converge at the
  // rate λ₇/λ₂ instead of λ₃/λ₂.
  const size_t b = std::min<size_t>(6, d);
  std::vector<Vec> q(b, Vec(d));
  for (size_t j = 0; j < b; ++j)
    for (size_t i = 0; i < d; ++i)  // a fixed, well-mixed start (no RNG: the picture is reproducible)
      q[j][i] = std::sin(1.0 + 0.7 * static_cast<double>(i) * static_cast<double>(j + 1) + 0.3 * static_cast<double>(j));
  orthonormalise(q);
  Vec w;
  std::vector<Vec> cq(b), t(b, Vec(b)), v;
  for (int it = 0; it < 2000; ++it) {  // a cap for nearly equal eigenvalues: the picture is then still a good plane
    for (size_t j = 0; j < b; ++j) cq[j] = apply(q[j]);
    // Rayleigh–Ritz: T = Qᵀ·C·Q, rotate the block onto T's eigenvectors.
    for (size_t i = 0; i < b; ++i)
      for (size_t j = 0; j < b; ++j) t[i][j] = dot(q[i], cq[j]);
    for (size_t i = 0; i < b; ++i)
      for (size_t j = 0; j < i; ++j) t[i][j] = t[j][i] = 0.5 * (t[i][j] + t[j][i]);
    jacobi(t, w, v);
    std::vector<size_t> order(b);
    for (size_t i = 0; i < b; ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t c) { return w[a] > w[c]; });
    std::vector<Vec> ritz(b, Vec(d, 0.0)), next(b, Vec(d, 0.0));
    for (size_t jj = 0; jj < b; ++jj) {
      const size_t j = order[jj];
      for (size_t k = 0; k < b; ++k)
        for (size_t i = 0; i < d; ++i) {
          ritz[jj][i] += v[k][j] * q[k][i];
          next[jj][i] += v[k][j] * cq[k][i];
        }
    }
    const double l0 = w[order[0]], l1 = b > 1 ? w[order[1]] : 0.0;
    // Converged when the two leading Ritz vectors are eigenvectors to
    // working precision: ‖C·u − λ·u‖ ≤ 1e-10·λ₁.
    double res = 0;
    for (size_t jj = 0; jj < std::min<size_t>(2, b); ++jj) {
      const double lam = w[order[jj]];
      double r2 = 0;
      for (size_t i = 0; i < d; ++i) r2 += (next[jj][i] - lam * ritz[jj][i]) * (next[jj][i] - lam * ritz[jj][i]);
      res = std::max(res, std::sqrt(r2));
    }
    q = ritz;
    if (res <= 1e-10 * std::max(l0, 1e-300) || l0 <= 0) {
      p.variance = {std::max(0.0, l0), std::max(0.0, l1)};
      break;
    }
    p.variance = {l0, l1};
    q = next;
    orthonormalise(q);
  }
  for (int c = 0; c < 2; ++c) {
    if (static_cast<size_t>(c) < b) p.axis[c] = q[c];
    else p.axis[c].assign(d, 0.0);  // d = 1: there is no second direction
    // Sign: the largest-magnitude component positive.
    size_t big = 0;
    for (size_t i = 0; i < d; ++i)
      if (std::fabs(p.axis[c][i]) > std::fabs(p.axis[c][big])) big = i;
    if (p.axis[c][big] < 0)
      for (double& a : p.axis[c]) a = -a;
  }
  return p;
}

}  // namespace peft::report
