// Correlation coefficients for STS evaluation, as scipy.stats computes them
// (sentence-transformers' EmbeddingSimilarityEvaluator calls pearsonr and
// spearmanr on the gold scores and the cosine similarities).
//
//   Pearson   r = Σ (x_i - x̄)(y_i - ȳ) / sqrt(Σ (x_i - x̄)² · Σ (y_i - ȳ)²)
//   Spearman  ρ = Pearson r of the ranks of x and the ranks of y, where tied
//               values share the mean of the ranks they span ("average"
//               ranking: 1, 2.5, 2.5, 4 for 1, 5, 5, 7).
//
// Sums are accumulated in double precision after centring, so large offsets
// cost no accuracy. Undefined cases (fewer than two pairs, or one side
// constant) return NaN, as scipy does; callers print it as such.
#pragma once
#include <vector>

namespace peft {

double pearson(const std::vector<double>& x, const std::vector<double>& y);
double spearman(const std::vector<double>& x, const std::vector<double>& y);

// 1-based ranks with ties given their average rank.
std::vector<double> average_ranks(const std::vector<double>& v);

}  // namespace peft
