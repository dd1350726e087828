// CoSENTLoss (sentence-transformers): for scored pairs (a_i, b_i, y_i), every
// two pairs whose gold order is y_i < y_j should have cos_i < cos_j:
//   L = log(1 + Σ_{y_i < y_j} exp(s·(cos_i − cos_j))),   cos_i = cos(a_i, b_i), s = 20.
// One value per batch (not a mean). With w_ij = exp(s(cos_i − cos_j)) / (1 + Σ…),
//   dL/dcos_i = s · (Σ_j w_ij − Σ_j w_ji).
#pragma once
#include "embed/loss.h"

namespace peft {

constexpr double kCosentScale = 20.0;

template <typename T>
double cosent_loss(const LossInput<T>& in, double scale, T* demb);

}  // namespace peft
