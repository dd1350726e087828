#include "train/perplexity.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace peft {

PerplexityResult perplexity(LlamaModel<float>& model, const std::vector<int32_t>& tokens, int64_t window,
                            int64_t stride) {
  const int64_t n = static_cast<int64_t>(tokens.size());
  if (n < 2) fail("perplexity", "the text has no tokens to score");
  if (window < 2) fail("perplexity", "the window must hold at least 2 tokens");
  if (stride < 1 || stride > window - 1) stride = window - 1;
  PerplexityResult r;
  double sum = 0;
  int64_t scored_until = 0;  // tokens[1..scored_until] have been scored
  for (int64_t begin = 0; scored_until < n - 1; begin += stride) {
    int64_t end = std::min(n, begin + window);  // window covers tokens[begin, end)
    Batch b;
    b.B = 1;
    b.T = end - begin - 1;
    for (int64_t i = begin; i < end - 1; ++i) {
      b.tokens.push_back(tokens[i]);
      b.positions.push_back(static_cast<int32_t>(i - begin));
      // Target tokens[i+1]; score it only if no earlier window did.
      b.targets.push_back(i + 1 > scored_until ? tokens[i + 1] : -1);
    }
    int64_t count = b.scored();
    sum += model.forward_loss(b);
    r.tokens += count;
    scored_until = end - 1;
    r.windows++;
    if (end == n) break;
  }
  r.mean_nll = sum / static_cast<double>(r.tokens);
  r.perplexity = std::exp(r.mean_nll);
  return r;
}

}  // namespace peft
