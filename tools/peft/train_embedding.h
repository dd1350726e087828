// peft train --task embedding: the embedding branch of cmd_train.cpp.
#pragma once
#include <cstdint>
#include <string>

#include "train/run_settings.h"

namespace peft::cli {

// What only the command line has, besides the RunSettings.
struct TrainCliExtras {
  std::string resume;
  bool json = false, quiet = false;
  int64_t save_total_limit = 0;
  std::string save_optimizer_state = "all";
};

// Checks that need neither model nor data (loss, Matryoshka list, flags
// that only one task reads). Throws InputError.
void check_embedding_flags(const RunSettings& o);
// Runs the embedding training `o` describes (defaults resolved). Returns the exit code.
int train_embedding(RunSettings& o, const TrainCliExtras& x);

}  // namespace peft::cli
