#include "embed/loss.h"

#include "core/error.h"
#include "embed/loss_cosent.h"
#include "embed/loss_cosine.h"
#include "embed/loss_mnrl.h"
#include "embed/loss_triplet.h"

namespace peft {

LossKind parse_loss(const std::string& name) {
  if (name == "mnrl") return LossKind::Mnrl;
  if (name == "cached-mnrl") return LossKind::CachedMnrl;
  if (name == "cosent") return LossKind::Cosent;
  if (name == "cosine") return LossKind::Cosine;
  if (name == "triplet") return LossKind::Triplet;
  fail("embed", "unknown loss '" + name + "' (use mnrl, cached-mnrl, cosent, cosine or triplet)");
}

std::string loss_name(LossKind k) {
  switch (k) {
    case LossKind::Mnrl: return "mnrl";
    case LossKind::CachedMnrl: return "cached-mnrl";
    case LossKind::Cosent: return "cosent";
    case LossKind::Cosine: return "cosine";
    case LossKind::Triplet: return "triplet";
  }
  return "?";
}

bool loss_needs_scores(LossKind k) { return k == LossKind::Cosent || k == LossKind::Cosine; }

template <typename T>
double embedding_loss(LossKind kind, const LossInput<T>& in, T* demb) {
  switch (kind) {
    case LossKind::Mnrl:
    case LossKind::CachedMnrl: return mnrl_loss(in, kMnrlScale, demb);
    case LossKind::Cosent: return cosent_loss(in, kCosentScale, demb);
    case LossKind::Cosine: return cosine_loss(in, demb);
    case LossKind::Triplet: return triplet_loss(in, kTripletMargin, demb);
  }
  return 0;
}

template double embedding_loss<float>(LossKind, const LossInput<float>&, float*);
template double embedding_loss<double>(LossKind, const LossInput<double>&, double*);

}  // namespace peft
