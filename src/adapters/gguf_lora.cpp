#include "adapters/gguf_lora.h"

#include <cmath>

#include "adapters/delta_lora.h"
#include "adapters/lora.h"
#include "adapters/vera.h"
#include "core/error.h"
#include "io/gguf.h"

namespace peft {

namespace {

// A layer's delta as s · B A with its own scale s.
struct PlainLora {
  int rank = 0;
  double scale = 0;
  std::vector<float> A, B;  // [rank, in], [out, rank] (rows in our order)
};

PlainLora plain_lora(const GgufLoraLayer& l) {
  PlainLora p;
  const int64_t in = l.info.in, out = l.info.out;
  if (const auto* v = dynamic_cast<const VeraAdapter<float>*>(l.adapter)) {
    // ΔW = diag(λ_b) B_l diag(λ_d) A_l as a rank-r LoRA of scale 1.
    const int r = v->rank();
    p.rank = r;
    p.scale = 1.0;
    p.A.resize(r * in);
    p.B.resize(out * r);
    v->plain_factors(p.A.data(), p.B.data());
    return p;
  }
  LoraExport<float> e;
  double s = 0;
  if (const auto* d = dynamic_cast<const DeltaLoraAdapter<float>*>(l.adapter)) {
    e = d->export_rank2r();
    s = d->scaling();
  } else if (const auto* a = dynamic_cast<const LoraAdapter<float>*>(l.adapter)) {
    e = a->export_lora();
    s = a->scaling();
  } else {
    fail("gguf-lora", "layer '" + l.info.name + "' holds a " + l.adapter->method() + " adapter that cannot be exported");
  }
  p.rank = e.rank;
  p.scale = s;  // the exports keep the layer's scale
  p.A = std::move(e.A);
  p.B = std::move(e.B);
  return p;
}

Tensor f32_tensor(const std::vector<float>& v, Shape shape) {
  Tensor t = Tensor::zeros(DType::F32, shape);
  std::copy(v.begin(), v.end(), t.mutable_ptr<float>());
  return t;
}

}  // namespace

double save_gguf_lora(const std::string& path, const std::string& architecture,
                      const std::vector<GgufLoraLayer>& layers) {
  if (architecture.empty()) fail("gguf-lora", "the base model's architecture is needed");
  std::vector<std::pair<const GgufLoraLayer*, PlainLora>> plains;
  for (const auto& l : layers)
    if (l.adapter) plains.emplace_back(&l, plain_lora(l));
  if (plains.empty()) fail("gguf-lora", path + ": no adapted layer to export");
  // One alpha for the file: the first layer's s · r. Others fold their own
  // s / (alpha / r) into B.
  const double alpha = plains.front().second.scale * plains.front().second.rank;
  if (!(std::isfinite(alpha) && alpha != 0)) fail("gguf-lora", "cannot export a layer scale of zero or non-finite");
  GgufWriter w;
  w.set("general.architecture", GgufValue::string(architecture));
  w.set("general.type", GgufValue::string("adapter"));
  w.set("adapter.type", GgufValue::string("lora"));
  w.set("adapter.lora.alpha", GgufValue::f32(static_cast<float>(alpha)));
  for (auto& [l, p] : plains) {
    const int64_t in = l->info.in, out = l->info.out;
    const double fold = p.scale / (alpha / p.rank);
    std::vector<float> B(out * p.rank);
    if (!l->gguf_rows.empty() && static_cast<int64_t>(l->gguf_rows.size()) != out)
      fail("gguf-lora", "row order for '" + l->info.name + "' does not match its rows");
    std::vector<char> seen(out, 0);
    for (int64_t i = 0; i < out; ++i) {
      const int64_t g = l->gguf_rows.empty() ? i : l->gguf_rows[i];
      if (g < 0 || g >= out || seen[g]) fail("gguf-lora", "row order for '" + l->info.name + "' is not a permutation");
      seen[g] = 1;
      for (int k = 0; k < p.rank; ++k) B[g * p.rank + k] = static_cast<float>(fold * p.B[i * p.rank + k]);
    }
    w.add_tensor(l->info.name + ".weight.lora_a", f32_tensor(p.A, {p.rank, in}));
    w.add_tensor(l->info.name + ".weight.lora_b", f32_tensor(B, {out, p.rank}));
  }
  w.write(path);
  return alpha;
}

}  // namespace peft
