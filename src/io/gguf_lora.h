// The llama.cpp LoRA adapter file format (REFERENCE.md §9), the file
// `llama-cli --lora` and `llama-export-lora` read.
//
//   KV       general.type = "adapter", general.architecture = the base's,
//            adapter.type = "lora", adapter.lora.alpha (f32, one for the file)
//   tensors  "<layer>.weight.lora_a" = A [r, in]  (GGUF ne [in, r])
//            "<layer>.weight.lora_b" = B [out, r] (GGUF ne [r, out])
// llama.cpp adds scale · (alpha / r) · B (A x) per layer, r read from each
// lora_a. Since the file has one alpha, a layer whose own scale s differs
// from alpha / r gets s·r/alpha folded into B, so every layer's delta is
// exact. This file knows nothing of methods: train/gguf_lora.h turns any
// adapter into the plain factors written here.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace peft {

// One layer's ΔW = scale · B A.
struct GgufLoraTensors {
  std::string name;                // GGUF-style layer name, e.g. "blk.0.attn_q"
  int64_t in = 0, out = 0;
  int rank = 0;
  double scale = 0;
  std::vector<float> A;            // [rank, in]
  std::vector<float> B;            // [out, rank], rows in the caller's order
  std::vector<int32_t> gguf_rows;  // the caller's row i is llama.cpp row gguf_rows[i]; empty when the same
};

// Writes `path` (atomically). `architecture` is the base model's
// general.architecture. Returns the alpha written. Throws "[gguf-lora] ...".
double write_gguf_lora(const std::string& path, const std::string& architecture,
                       const std::vector<GgufLoraTensors>& layers);

}  // namespace peft
