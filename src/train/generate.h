// Text generation with a KV cache: prompt in, tokens out, streamed.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "model/llama.h"
#include "model/sampler.h"
#include "tokenizer/tokenizer.h"

namespace peft {

struct GenerateOptions {
  std::string prompt;
  int64_t max_tokens = 256;
  SamplerConfig sampler;
  bool stop_at_eos = true;
};

struct GenerateResult {
  std::string text;             // the continuation only
  std::vector<int32_t> tokens;  // generated ids
  int64_t prompt_tokens = 0;
  double seconds = 0;
  double tokens_per_second = 0;
  bool hit_context_limit = false;
};

// on_text receives each piece of text as soon as it is complete.
GenerateResult generate(LlamaModel<float>& model, const Tokenizer& tok, const GenerateOptions& opt,
                        const std::function<void(const std::string&)>& on_text);

}  // namespace peft
