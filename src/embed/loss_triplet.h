// TripletLoss (sentence-transformers' default: euclidean distance, margin 5):
//   L = (1/n) Σ_i max(d(a_i, p_i) − d(a_i, n_i) + m, 0),   d(x, y) = ‖x − y + ε‖₂
// with ε = 1e-6 as torch's pairwise_distance adds. Distances are taken on the
// embeddings as given (unit vectors for a normalising model).
//   dd(x, y)/dx = (x − y + ε) / d,  dd/dy = −(x − y + ε) / d.
#pragma once
#include "embed/loss.h"

namespace peft {

constexpr double kTripletMargin = 5.0;
constexpr double kPairwiseDistanceEps = 1e-6;

template <typename T>
double triplet_loss(const LossInput<T>& in, double margin, T* demb);

}  // namespace peft
