// MultipleNegativesRankingLoss (InfoNCE with in-batch negatives), as
// sentence-transformers computes it: every anchor is scored against every
// positive and hard negative of the batch, and the loss is the cross-entropy
// of picking its own positive.
//
//   S_ij = s · cos(a_i, c_j)        a_i = row i of block 0; c_j = row n + j (blocks 1…), j < (k−1)·n
//   L    = (1/n) Σ_i [ log Σ_{j ∉ X_i} exp(S_ij) − S_ii ]
// with X_i the excluded candidates (LossInput::exclude): copies of anchor
// i's own positive elsewhere in the batch, which would otherwise be scored as
// negatives although they are correct answers (a false negative pushes the
// anchor away from its right answer). Excluding j from the sum is the same
// as setting S_ij = −∞.
//   dL/dS_ij = (softmax_j(S_i·)_j − [j = i]) / n   (0 for excluded j)
// and through cos(u, v) = û·v̂ with û = u/‖u‖ (ops/l2_normalize for the last step).
#pragma once
#include "embed/loss.h"

namespace peft {

constexpr double kMnrlScale = 20.0;

template <typename T>
double mnrl_loss(const LossInput<T>& in, double scale, T* demb);

}  // namespace peft
