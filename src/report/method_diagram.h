// Each run's method as a picture, with the run's real shapes: the frozen
// weight W [out, in] and what trains beside it, for one of its adapted
// layers (the first one).
//
//   full        W itself trains.
//   LoRA        h = W·x + s·B·(A·x); A [r, in] and B [out, r] train, s = α/r.
//   LoRA-FA     as LoRA, A frozen at its random init: only B trains.
//   LoRA+       as LoRA, B at the learning rate × ratio.
//   Delta-LoRA  as LoRA, and after each step W += λ·s·(B_t·A_t − B_{t−1}·A_{t−1}).
//   VeRA        h = W·x + Λ_b·B·Λ_d·A·x with one frozen random pair A [r, max_in],
//               B [max_out, r] shared by every layer; only the vectors
//               d [r] and b [out] of each layer train.
//
// Boxes are drawn with sides ∝ √(dimension), so a rank-8 factor looks thin
// beside a 256-wide weight without vanishing.
#pragma once
#include <string>

#include "report/run.h"

namespace peft::report {

// SVG with data-chart="method"; each box is a <rect class="block"
// data-part="W|A|B|lambda_d|lambda_b" data-trains="yes|no">.
std::string method_diagram(const RunData& run, const std::string& colour);

}  // namespace peft::report
