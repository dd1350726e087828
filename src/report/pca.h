// A two-component principal component analysis for the report's embedding
// pictures: the plane that keeps the most variance of a set of vectors.
//
// With X the n × d rows centred on their mean μ, the covariance is
// C = Xᵀ·X / n and the axes are its two leading eigenvectors. They are found
// by block power iteration without forming C (each product C·v is
// Xᵀ·(X·v), O(n·d)): a block of a few vectors is multiplied by C and
// re-orthonormalised until its Ritz values settle, then the block's own
// p × p problem (Rayleigh–Ritz) gives the two leading directions even when
// λ₁ and λ₂ are close. Each axis is signed so that its largest-magnitude
// component is positive, which makes the picture deterministic (an
// eigenvector is only defined up to sign).
#pragma once
#include <array>
#include <cstdint>
#include <vector>

namespace peft::report {

struct Pca2 {
  int64_t dim = 0;
  std::vector<double> mean;               // [d]
  std::array<std::vector<double>, 2> axis;  // unit vectors [d], λ₁ ≥ λ₂
  std::array<double, 2> variance{0, 0};   // λ₁, λ₂ (population variance along each axis)
  double total_variance = 0;              // trace(C)

  // The 2-D coordinates of one vector [d]: ((x − μ)·axis₀, (x − μ)·axis₁).
  std::array<double, 2> project(const std::vector<float>& x) const;
};

// Fits on `rows` (each of the same length d ≥ 1, at least one row). Throws
// std::invalid_argument on ragged rows or none.
Pca2 fit_pca2(const std::vector<const std::vector<float>*>& rows);

}  // namespace peft::report
