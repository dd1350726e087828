// MatryoshkaLoss (sentence-transformers): the inner loss applied to each
// truncated, re-normalised prefix of the embeddings, weighted and summed,
// so that the first d columns alone make a good embedding:
//   L = Σ_d w_d · L_inner(normalize(emb[:, :d]))      (w_d = 1 by default)
// The gradient of each term flows back through the normalisation of the
// prefix (ops/l2_normalize) and is zero past column d.
#pragma once
#include <vector>

#include "embed/loss.h"

namespace peft {

// Parses "384,256,128" (positive, distinct); throws InputError "[embed] ...".
std::vector<int64_t> parse_matryoshka_dims(const std::string& list);

// `dims` each ≤ in.dims; `weights` empty (all 1) or one per dim.
template <typename T>
double matryoshka_loss(LossKind inner, const LossInput<T>& in, const std::vector<int64_t>& dims,
                       const std::vector<double>& weights, T* demb);

}  // namespace peft
