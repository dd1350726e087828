// Checking a model configuration read from a file against the weights the
// same file holds, before the model is allocated.
#pragma once
#include <string>

#include "model/config.h"

namespace peft {
// A model's configuration decides what is allocated before any tensor is
// read, so loaders check it against the file first: throws "[model] <path>:
// ..." when the weights the configuration needs (a lower bound, counted in
// elements whatever their type) exceed all the elements the file's tensors
// hold. A crafted block_count or embedding_length then fails at once
// instead of allocating terabytes.
void check_gguf_holds_weights(const GgufFile& f, double weights_needed, const std::string& config_line);

// The weights a Llama-family configuration allocates, without biases and
// norms beyond the per-layer ones (a lower bound for the check above).
double llama_weight_count(const LlamaConfig& c);

}  // namespace peft
