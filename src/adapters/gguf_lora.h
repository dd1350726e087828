// A model's adapters as a llama.cpp LoRA adapter file (REFERENCE.md §9), the
// file `llama-cli --lora` and `llama-export-lora` read.
//
//   KV       general.type = "adapter", general.architecture = the base's,
//            adapter.type = "lora", adapter.lora.alpha (f32, one for the file)
//   tensors  "<layer>.weight.lora_a" = A [r, in]  (GGUF ne [in, r])
//            "<layer>.weight.lora_b" = B [out, r] (GGUF ne [r, out])
// llama.cpp adds scale · (alpha / r) · B (A x) per layer, r read from each
// lora_a. Every method is written as an exact plain LoRA: Delta-LoRA as its
// rank-2r form, PiSSA as its rank-2r conversion, VeRA as the rank-r
// A = diag(λ_d) A_l, B = diag(λ_b) B_l with scale 1. Since the file has one
// alpha, a layer whose own scale s differs from alpha / r gets s·r/alpha
// folded into B, so every layer's delta is exact.
// Rows are written in llama.cpp's order: a layer whose rows are in HF order
// (a model loaded from safetensors) passes `gguf_rows` and B's rows move.
#pragma once
#include <string>
#include <vector>

#include "adapters/adapter.h"

namespace peft {

struct GgufLoraLayer {
  LinearInfo info;                 // GGUF-style name, e.g. "blk.0.attn_q"
  std::vector<int32_t> gguf_rows;  // our row i is llama.cpp row gguf_rows[i]; empty when the same
  const Adapter<float>* adapter = nullptr;
};

// Writes `path`. `architecture` is the base model's general.architecture.
// Returns the alpha written.
double save_gguf_lora(const std::string& path, const std::string& architecture,
                      const std::vector<GgufLoraLayer>& layers);

}  // namespace peft
