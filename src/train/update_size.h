// Where a run's update went: for every linear layer that changed, the size
// of its update relative to the weight, ‖ΔW‖_F / ‖W‖_F, with W the base
// weight before training. For an adapter ΔW is what merging the adapter adds
// (s·B·A for LoRA; Λ_b·B·Λ_d·A for VeRA); for Delta-LoRA it also holds what
// the run wrote into W; for full fine-tuning it is the weight difference.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "model/llama.h"

namespace peft {

struct UpdateSize {
  std::string layer;   // e.g. "blk.3.attn_q"
  int64_t block = -1;  // 3
  std::string module;  // q, k, v, o, gate, up, down
  double delta_norm = 0, weight_norm = 0;
  double ratio() const { return weight_norm > 0 ? delta_norm / weight_norm : 0; }
};

// `trained` has the configuration of `base`; its effective weight is its
// base weight plus whatever its adapter merges. Layers whose effective
// weight equals the base exactly (no adapter, frozen) are left out.
std::vector<UpdateSize> update_sizes(LlamaModel<float>& base, LlamaModel<float>& trained);

// From files: `run_dir` holds a PEFT adapter (adapter_config.json) or a full
// model (model.gguf); `base` is the model the run started from (a GGUF file
// or a Hugging Face folder). Throws "[report] ..." / the loaders' errors.
std::vector<UpdateSize> update_sizes_of_run(const std::string& run_dir, const std::string& base);

}  // namespace peft
