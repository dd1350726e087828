#include "train/perplexity.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/log.h"

namespace peft {

PerplexityProtocol parse_perplexity_protocol(const std::string& name) {
  if (name == "sliding") return PerplexityProtocol::Sliding;
  if (name == "llama.cpp") return PerplexityProtocol::LlamaCpp;
  fail("perplexity", "unknown protocol '" + name + "' (use sliding or llama.cpp)");
}

const char* perplexity_protocol_name(PerplexityProtocol p) {
  return p == PerplexityProtocol::LlamaCpp ? "llama.cpp" : "sliding";
}

PerplexityResult perplexity(LlamaModel<float>& model, const std::vector<int32_t>& tokens, int64_t window,
                            int64_t stride) {
  const int64_t n = static_cast<int64_t>(tokens.size());
  if (n < 2) fail("perplexity", "the text has no tokens to score");
  if (window < 2) fail("perplexity", "the window must hold at least 2 tokens");
  if (stride < 1 || stride > window - 1) stride = window - 1;
  PerplexityResult r;
  r.context = window;
  r.stride = stride;
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

PerplexityResult perplexity_chunked(LlamaModel<float>& model, const std::vector<int32_t>& tokens, int64_t chunk,
                                    int32_t bos, int64_t max_chunks) {
  const int64_t n = static_cast<int64_t>(tokens.size());
  if (chunk < 4) fail("perplexity", "the context must hold at least 4 tokens");
  if (n < 2 * chunk)
    fail("perplexity", "llama.cpp's protocol needs at least 2 x " + std::to_string(chunk) + " = " +
                           std::to_string(2 * chunk) + " tokens; the text has " + std::to_string(n) +
                           " (give a longer text or a smaller context)");
  int64_t n_chunks = n / chunk;  // the tail that does not fill a chunk is not scored
  if (max_chunks > 0) n_chunks = std::min(n_chunks, max_chunks);
  const int64_t first = chunk / 2;
  // Several chunks per forward pass, up to ~2048 tokens, so a small context
  // does not mean many tiny passes; each chunk is its own row (its own
  // attention, positions from 0), as llama.cpp evaluates them.
  const int64_t rows = std::max<int64_t>(1, 2048 / chunk);
  PerplexityResult r;
  r.context = chunk;
  double sum = 0;
  for (int64_t c0 = 0; c0 < n_chunks; c0 += rows) {
    Batch b;
    b.B = std::min(rows, n_chunks - c0);
    b.T = chunk;
    for (int64_t c = c0; c < c0 + b.B; ++c) {
      const int32_t* t = tokens.data() + c * chunk;  // chunk c = tokens[c·N, (c+1)·N)
      for (int64_t j = 0; j < chunk; ++j) {
        b.tokens.push_back(j == 0 && bos >= 0 ? bos : t[j]);
        b.positions.push_back(static_cast<int32_t>(j));
        // The logits at position j predict t[j+1]; llama.cpp scores j in [N/2, N−2].
        b.targets.push_back(j >= first && j + 1 < chunk ? t[j + 1] : -1);
      }
    }
    r.tokens += b.scored();
    sum += model.forward_loss(b);
    r.windows += b.B;
  }
  r.mean_nll = sum / static_cast<double>(r.tokens);
  r.perplexity = std::exp(r.mean_nll);
  return r;
}

PerplexityResult perplexity_of_text(LlamaModel<float>& model, const Tokenizer& tokenizer, std::string_view text,
                                    const PerplexityOptions& o) {
  if (o.context < 0 || o.stride < 0 || o.max_tokens < 0 || o.max_chunks < 0)
    fail("perplexity", "context, stride, max tokens and chunks must not be negative");
  // Both protocols: the text's own tokens, then BOS in front. The Sliding
  // protocol puts BOS whenever the vocabulary has one (the golden protocol);
  // llama.cpp only when the vocabulary adds BOS to a text.
  std::vector<int32_t> ids = tokenizer.encode(text, false);
  if (o.max_tokens > 0 && static_cast<int64_t>(ids.size()) > o.max_tokens) ids.resize(o.max_tokens);
  if (ids.empty()) fail("perplexity", "the text has no tokens to score");
  const bool llama = o.protocol == PerplexityProtocol::LlamaCpp;
  const int32_t bos = llama ? (tokenizer.adds_bos() ? tokenizer.bos_id() : -1) : tokenizer.bos_id();
  if (bos >= 0) ids.insert(ids.begin(), bos);
  const int64_t trained = model.cfg.context_length;
  if (!llama) {
    int64_t window = o.context > 0 ? o.context : trained;
    int64_t stride = o.stride > 0 ? o.stride : window / 2;
    return perplexity(model, ids, window, stride);
  }
  if (o.stride > 0) fail("perplexity", "a stride applies to the sliding protocol only (llama.cpp's chunks do not overlap)");
  int64_t chunk = o.context > 0 ? o.context : kLlamaCppDefaultContext;
  if (chunk > trained)
    log_warn("the model was trained on " + std::to_string(trained) + " tokens of context; scoring chunks of " +
             std::to_string(chunk) + " (as llama-perplexity would)");
  return perplexity_chunked(model, ids, chunk, bos, o.max_chunks);
}

}  // namespace peft
