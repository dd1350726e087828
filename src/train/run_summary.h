// What a finished run records about itself in summary.json, beyond the loss
// numbers: the memory it needed (split by what holds it), and the shapes of
// the layers it trained, so that `peft report` can draw the run without
// loading the model again.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "model/llama.h"
#include "train/method.h"
#include "train/trainer.h"

namespace peft {

// Memory by construction for f32 training with AdamW: the weights (4 bytes a
// number, frozen or not), a gradient (4) and two moments (8) per trainable
// number, and the activations the last micro-batch kept for backward
// (measured). The peak of a step is their sum.
struct MemorySplit {
  int64_t weights = 0, gradients = 0, optimizer = 0, activations = 0;
  int64_t total() const { return weights + gradients + optimizer + activations; }
};
MemorySplit memory_split(int64_t total_params, int64_t trainable_params, int64_t activation_bytes);

// The summary of a run: method, parameter counts, losses, speed, tokens,
// memory, the model's shape, and for every adapted layer (every linear layer
// for full fine-tuning) its name, module, [out, in] and its trainable tensors
// with their shapes and optimizer groups; VeRA's shared pair; the method's
// settings (rank, alpha, scale, LoRA+ ratio, Delta-LoRA's λ).
// `lora_plus_ratio` is the optimizer's (1 = off).
nlohmann::json run_summary(LlamaModel<float>& model, const MethodSetup& setup, const TrainSummary& s,
                           int64_t steps, double lora_plus_ratio);
// The same for any model given as its linear layers (all of them, adapted or
// not) and a one-line description of its shape: the embedders (an encoder
// or a decoder, embed/embedder.h). Embedding runs add "texts" and
// "texts_per_second".
nlohmann::json run_summary(const std::vector<Linear<float>*>& linears, const std::string& model_shape,
                           const MethodSetup& setup, const TrainSummary& s, int64_t steps, double lora_plus_ratio);

}  // namespace peft
