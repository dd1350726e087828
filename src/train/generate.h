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
  // Storage of the KV cache: BF16 halves its memory and the bytes attention
  // reads per token; F32 is the exact reference.
  DType kv_dtype = DType::BF16;
};

struct GenerateResult {
  std::string text;             // the continuation only
  std::vector<int32_t> tokens;  // generated ids
  int64_t prompt_tokens = 0;
  double seconds = 0;            // prompt + decode
  double tokens_per_second = 0;  // generated tokens / seconds
  // The prompt's one batched forward, and the single-token forwards after it
  // (tokens.size() - 1 of them, sampling included), timed apart as
  // llama.cpp's "prompt eval" and "eval" lines are.
  double prompt_seconds = 0, decode_seconds = 0;
  int64_t decode_steps = 0;
  double prompt_tokens_per_second() const { return prompt_seconds > 0 ? prompt_tokens / prompt_seconds : 0; }
  double decode_tokens_per_second() const { return decode_seconds > 0 ? decode_steps / decode_seconds : 0; }
  bool hit_context_limit = false;
};

// on_text receives each piece of text as soon as it is complete.
GenerateResult generate(LlamaModel<float>& model, const Tokenizer& tok, const GenerateOptions& opt,
                        const std::function<void(const std::string&)>& on_text);

}  // namespace peft
