// Perplexity of a token sequence (the golden protocol of
// ../shared/golden/stories260K.md): the caller gives the tokens with BOS
// first; every later token is predicted from those before it and the mean NLL
// (natural log) is reported.
//
// Texts longer than the window are scored in windows of `window` tokens that
// advance by `stride`: each window scores only the tokens not scored by an
// earlier window, with up to window − stride tokens of context before them.
#pragma once
#include <cstdint>
#include <vector>

#include "model/llama.h"

namespace peft {

struct PerplexityResult {
  int64_t tokens = 0;  // predicted tokens scored
  double mean_nll = 0;
  double perplexity = 0;
  int64_t windows = 0;
};

PerplexityResult perplexity(LlamaModel<float>& model, const std::vector<int32_t>& tokens, int64_t window,
                            int64_t stride);

}  // namespace peft
