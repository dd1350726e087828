// Thin singular value decomposition in double, for PiSSA's initialisation.
//
// One-sided Jacobi (Hestenes): rotate pairs of columns of the tall
// orientation X [m, n] (m ≥ n) until all are mutually orthogonal; then
// X V = U Σ with the column norms as Σ. Simple and accurate to working
// precision; its cost is about sweeps · n² · m, fine for adapter-sized layers
// (a 4096 × 4096 weight takes minutes, a subspace method would be the upgrade).
#pragma once
#include <cstdint>
#include <vector>

namespace peft {

struct Svd {
  int64_t m = 0, n = 0, k = 0;  // M is [m, n], k = min(m, n)
  std::vector<double> U;        // [m, k], orthonormal columns
  std::vector<double> S;        // [k], descending, ≥ 0
  std::vector<double> Vt;       // [k, n], orthonormal rows
};

// M [m, n] row-major = U · diag(S) · Vt.
Svd svd_jacobi(const double* M, int64_t m, int64_t n);

}  // namespace peft
