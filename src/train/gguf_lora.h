// A model's adapters as a llama.cpp LoRA adapter file (io/gguf_lora.h). Every
// method is written as the exact plain LoRA it gives through
// Adapter::plain_lora(): Delta-LoRA as its rank-2r form, PiSSA as its rank-2r
// conversion, VeRA as the rank-r A = diag(λ_d) A_l, B = diag(λ_b) B_l with
// scale 1. Rows are written in llama.cpp's order: a layer whose rows are in
// HF order (a model loaded from safetensors) passes `gguf_rows` and B's rows
// move.
#pragma once
#include <string>
#include <vector>

#include "core/adapter_slot.h"

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

struct Pretrained;
struct GgufLoraExport {
  int64_t layers = 0;  // adapted layers written
  double alpha = 0;    // the file's adapter.lora.alpha
};
// `peft export`: loads the PEFT folder `adapter_dir` for the model `p` and
// writes it to `out` as a llama.cpp LoRA GGUF, q/k rows in llama.cpp's order
// whatever order the model was loaded in.
GgufLoraExport export_gguf_lora(Pretrained& p, const std::string& adapter_dir, const std::string& out);

}  // namespace peft
