// Perplexity of a text under a model, under one of two protocols.
//
// Sliding (ours, the golden protocol of ../shared/golden/stories260K.md): the
// text is tokenized without specials, BOS is put in front, and every later
// token is predicted from those before it. A text longer than the window is
// scored in windows of `context` tokens that advance by `stride`: each window
// scores only the tokens no earlier window scored, with up to
// context − stride tokens of context before them. Every token is scored once.
//
// LlamaCpp (llama.cpp's `llama-perplexity`, so the two programs' numbers can
// be compared directly): the text is tokenized with BOS in front (when the
// vocabulary adds one), cut into n = ⌊tokens / N⌋ chunks of N tokens (the tail
// that does not fill a chunk is dropped), and each chunk is evaluated on its
// own with its first token replaced by BOS. In a chunk only the predictions
// made at positions N/2 .. N−2, i.e. of tokens N/2+1 .. N−1, are scored
// (N − N/2 − 1 per chunk), so every scored token has at least N/2 tokens of
// context. llama.cpp refuses texts shorter than 2N tokens; so do we.
//
// Both report PPL = exp(mean NLL) over the scored tokens, NLL in nats.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "model/llama.h"
#include "tokenizer/tokenizer.h"

namespace peft {

enum class PerplexityProtocol { Sliding, LlamaCpp };

// "sliding" or "llama.cpp"; anything else is an InputError naming the value.
PerplexityProtocol parse_perplexity_protocol(const std::string& name);
const char* perplexity_protocol_name(PerplexityProtocol p);

struct PerplexityOptions {
  PerplexityProtocol protocol = PerplexityProtocol::Sliding;
  // Window (Sliding) or chunk (LlamaCpp) length in tokens. 0 = the default:
  // the model's context length (Sliding), 512 like llama-perplexity (LlamaCpp).
  int64_t context = 0;
  int64_t stride = 0;      // Sliding: window advance; 0 = context / 2
  int64_t max_tokens = 0;  // keep the first N tokens of the text (before BOS); 0 = all
  int64_t max_chunks = 0;  // LlamaCpp: score at most N chunks (llama's --chunks); 0 = all
};

// llama-perplexity's default -c.
inline constexpr int64_t kLlamaCppDefaultContext = 512;

struct PerplexityResult {
  int64_t tokens = 0;  // predicted tokens scored
  double mean_nll = 0;
  double perplexity = 0;
  int64_t windows = 0;  // windows (Sliding) or chunks (LlamaCpp) evaluated
  int64_t context = 0;  // the window / chunk length used
  int64_t stride = 0;   // Sliding: the window advance used; LlamaCpp: 0
};

// Sliding protocol on tokens that already start with BOS. A stride outside
// [1, window − 1] means window − 1.
PerplexityResult perplexity(LlamaModel<float>& model, const std::vector<int32_t>& tokens, int64_t window,
                            int64_t stride);

// LlamaCpp protocol on tokens that already start with BOS (when the vocabulary
// adds one). `bos` replaces each chunk's first token; −1 leaves it as is.
PerplexityResult perplexity_chunked(LlamaModel<float>& model, const std::vector<int32_t>& tokens, int64_t chunk,
                                    int32_t bos, int64_t max_chunks = 0);

// The whole protocol from text: tokenization as the protocol says, defaults
// resolved, then one of the two functions above.
PerplexityResult perplexity_of_text(LlamaModel<float>& model, const Tokenizer& tokenizer, std::string_view text,
                                    const PerplexityOptions& options);

}  // namespace peft
