// CosineSimilarityLoss (sentence-transformers' default: MSE, no transformation):
//   L = (1/n) Σ_i (cos(a_i, b_i) − y_i)²,    dL/dcos_i = 2 (cos_i − y_i) / n.
// The labels are expected in [0, 1] (STS-B's 0–5 divided by 5).
#pragma once
#include "embed/loss.h"

namespace peft {

template <typename T>
double cosine_loss(const LossInput<T>& in, T* demb);

}  // namespace peft
