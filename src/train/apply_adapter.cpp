#include "train/apply_adapter.h"

#include <cmath>
#include <cstring>

#include "core/error.h"
#include "train/method.h"

namespace peft {

AdapterSpec parse_adapter_spec(const std::string& s) {
  AdapterSpec a;
  a.dir = s;
  size_t colon = s.rfind(':');
  if (colon != std::string::npos && colon + 1 < s.size()) {
    std::string tail = s.substr(colon + 1);
    char* end = nullptr;
    double v = std::strtod(tail.c_str(), &end);
    if (end && *end == '\0') {
      if (!std::isfinite(v)) fail("adapters", "adapter scale '" + tail + "' is not a finite number");
      a.dir = s.substr(0, colon);
      a.scale = v;
    }
  }
  if (a.dir.empty()) fail("adapters", "empty adapter path");
  return a;
}

bool model_rows_are_gguf(const Pretrained& p) { return p.format == "gguf"; }

LoadedPeft load_adapter_for(Pretrained& p, const std::string& dir) {
  return load_peft_dir(dir, peft_layers_of(*p.model, model_rows_are_gguf(p)));
}

void merge_adapter(Pretrained& p, const AdapterSpec& spec, std::optional<DType> hold_as) {
  LoadedPeft lp = load_adapter_for(p, spec.dir);
  for (Linear<float>* lin : p.model->all_linears()) {
    auto it = lp.adapters.find(lin->info.name);
    if (it == lp.adapters.end()) continue;
    // ΔW from merging into zeros, then W += scale·ΔW.
    std::vector<float> delta(static_cast<size_t>(lin->weight.numel()), 0.0f);
    it->second->merge_into(delta.data());
    // A stored (bf16/quantized) weight is widened for the sum and stored
    // again at once, so only one layer is ever f32.
    const bool was_stored = lin->weight.is_stored();
    const DType storage = lin->weight.storage_type();
    lin->weight.materialize();
    float* W = lin->weight.data.get();
    const float sc = static_cast<float>(spec.scale);
    for (size_t i = 0; i < delta.size(); ++i) W[i] += sc * delta[i];
    if (was_stored || (hold_as && *hold_as != DType::F32)) lin->weight.store_as(hold_as.value_or(storage));
  }
}

void apply_adapters(Pretrained& p, const std::vector<AdapterSpec>& specs) {
  if (specs.empty()) return;
  if (specs.size() == 1 && specs[0].scale == 1.0) {
    auto lp = std::make_shared<LoadedPeft>(load_adapter_for(p, specs[0].dir));
    for (Linear<float>* lin : p.model->all_linears()) {
      auto it = lp->adapters.find(lin->info.name);
      if (it != lp->adapters.end()) lin->adapter = std::move(it->second);
    }
    p.keep_alive.push_back(lp);  // VeRA's shared pair must outlive the adapters
    return;
  }
  for (const AdapterSpec& s : specs) merge_adapter(p, s);
}

}  // namespace peft
