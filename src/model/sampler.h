// Picking the next token from logits: greedy at temperature 0, otherwise
// softmax(logits / temperature) restricted to the top-k tokens and then to the
// smallest set whose probability reaches top-p, sampled with a seeded RNG.
#pragma once
#include <cstdint>

#include "core/rng.h"

namespace peft {

struct SamplerConfig {
  double temperature = 0.8;
  int64_t top_k = 40;   // 0 = no limit
  double top_p = 0.95;  // 1 = no limit
  uint64_t seed = 0;
};

class Sampler {
 public:
  explicit Sampler(const SamplerConfig& c);
  // logits [vocab]; returns a token id.
  int32_t sample(const float* logits, int64_t vocab);

 private:
  SamplerConfig cfg_;
  Rng rng_;
};

}  // namespace peft
