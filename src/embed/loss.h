// Contrastive and similarity losses on sentence embeddings, as
// sentence-transformers defines them; pure functions of an embedding matrix,
// each with its gradient, templated so the tests run them in double
// precision against finite differences.
//
// A batch of n examples with k texts each is embedded as one matrix
// emb [k·n, dims], block c (rows c·n … c·n + n − 1) holding text c of every
// example: block 0 the anchors (sentence1), block 1 the positives
// (sentence2), blocks 2… hard negatives. Scored pairs carry labels [n].
//
//   mnrl     L = (1/n) Σ_i [ log Σ_{j∉X_i} exp(s·cos(a_i, c_j)) − s·cos(a_i, p_i) ],  s = 20,
//            c_j every positive and negative in the batch (loss_mnrl.h)
//   cosent   L = log(1 + Σ_{y_i < y_j} exp(s·(cos_i − cos_j))),  s = 20        (loss_cosent.h)
//   cosine   L = (1/n) Σ_i (cos(a_i, b_i) − y_i)²                              (loss_cosine.h)
//   triplet  L = (1/n) Σ_i max(‖a_i − p_i‖ − ‖a_i − n_i‖ + 5, 0)               (loss_triplet.h)
//   matryoshka: Σ_d w_d · L(normalize(emb[:, :d]))                             (loss_matryoshka.h)
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace peft {

enum class LossKind { Mnrl, CachedMnrl, Cosent, Cosine, Triplet };

// "mnrl", "cached-mnrl", "cosent", "cosine", "triplet"; throws InputError "[embed] ...".
LossKind parse_loss(const std::string& name);
std::string loss_name(LossKind k);
// Texts per example the loss reads (mnrl: 2 or more; triplet: 3; scored: 2)
// and whether it needs a score per example.
bool loss_needs_scores(LossKind k);

template <typename T>
struct LossInput {
  const T* emb = nullptr;  // [columns·n, dims]
  int64_t n = 0, columns = 2, dims = 0;
  const T* labels = nullptr;  // [n]: cosent, cosine
  // mnrl: [n, (columns − 1)·n], 1 where candidate j (row n + j of emb) must
  // not count as a negative of anchor i (another copy of one of i's
  // positives). The own positive (j = i) is never excluded.
  const uint8_t* exclude = nullptr;
};

// The loss of `kind` with sentence-transformers' defaults (scale 20,
// margin 5); cached-mnrl is mnrl's function (it differs in how the
// embeddings are made, embed/cached_mnrl.h). demb [columns·n, dims] receives
// dL/demb (overwritten) when not null.
template <typename T>
double embedding_loss(LossKind kind, const LossInput<T>& in, T* demb);

}  // namespace peft
