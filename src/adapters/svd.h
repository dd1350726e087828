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

#include "core/rng.h"

namespace peft {

struct Svd {
  int64_t m = 0, n = 0, k = 0;  // M is [m, n], k = min(m, n)
  std::vector<double> U;        // [m, k], orthonormal columns
  std::vector<double> S;        // [k], descending, ≥ 0
  std::vector<double> Vt;       // [k, n], orthonormal rows
};

// M [m, n] row-major = U · diag(S) · Vt.
Svd svd_jacobi(const double* M, int64_t m, int64_t n);

// The top k triplets, approximately, by randomized subspace iteration
// (Halko et al.; what torch.svd_lowrank(M, q=k, niter) computes, with our
// generator): Q = orth(M Ω), Ω [n, k] Gaussian; `niter` times
// Q = orth(M · orth(Mᵀ Q)); then the exact SVD of the small Qᵀ M [k, n].
// Cost about (2·niter + 2) · m · n · k, so it suits large layers. The result
// has k = min(k, m, n) triplets.
Svd svd_lowrank(const double* M, int64_t m, int64_t n, int64_t k, int niter, Rng& rng);

}  // namespace peft
