// Putting saved PEFT adapters onto a loaded model, for generation,
// perplexity, merging and export.
//
// One adapter at scale 1 goes into the layers' adapter slots unmerged, so
// the model computes exactly what it computed in training. Several adapters,
// or any scale other than 1, are merged into the base weights:
// W += scale · ΔW for each (the deltas add up, as PEFT's active adapters do).
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "train/peft_dir.h"
#include "train/pretrained.h"

namespace peft {

struct AdapterSpec {
  std::string dir;
  double scale = 1.0;
};

// "DIR" or "DIR:SCALE". Throws "[adapters] ..." for a bad scale.
AdapterSpec parse_adapter_spec(const std::string& s);

// Whether the model's q/k rows are in llama.cpp's order (GGUF) rather than HF's.
bool model_rows_are_gguf(const Pretrained& p);

void apply_adapters(Pretrained& p, const std::vector<AdapterSpec>& specs);
// Merges one adapter into the base weights with a scale (W += scale·ΔW).
// A stored base weight (bf16, quantized) is summed in f32 and stored again
// in `hold_as` when given, else in its own type (re-quantized).
void merge_adapter(Pretrained& p, const AdapterSpec& spec, std::optional<DType> hold_as = std::nullopt);
// Loads a PEFT directory into adapter objects for this model.
LoadedPeft load_adapter_for(Pretrained& p, const std::string& dir);

}  // namespace peft
