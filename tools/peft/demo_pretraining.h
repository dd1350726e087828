// `peft demo --pretraining`: why LoRA does not pre-train. The demo's small
// model starts from random weights and trains on a text corpus three ways
// with the same tokens: full training, and LoRA at two ranks on every linear
// layer (the embeddings, norms and base weights stay at their random
// initialisation). Full training keeps improving; each LoRA run flattens
// where its low-rank subspace runs out. The runs and the report go to --out.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace peft::cli {

struct PretrainingOptions {
  std::string data, out;
  int64_t steps = 400;  // per run, 16 x 64 tokens each
  std::vector<int> ranks{4, 16};
  uint64_t seed = 1;
};

// Prints the progress and the final losses; returns the exit code.
int run_pretraining_experiment(const PretrainingOptions& o);

}  // namespace peft::cli
