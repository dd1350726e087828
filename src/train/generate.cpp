#include "train/generate.h"

#include <chrono>

#include "core/error.h"
#include "core/log.h"
#include "ops/matmul.h"

namespace peft {

GenerateResult generate(LlamaModel<float>& model, const Tokenizer& tok, const GenerateOptions& opt,
                        const std::function<void(const std::string&)>& on_text) {
  if (opt.max_tokens < 0) fail("generate", "max-tokens must be ≥ 0");
  std::vector<int32_t> prompt = tok.encode(opt.prompt, true);
  if (prompt.empty()) {
    // No BOS and no text: start from BOS anyway if the vocabulary has one.
    if (tok.bos_id() < 0) fail("generate", "empty prompt and the tokenizer has no BOS token to start from");
    prompt.push_back(tok.bos_id());
  }
  const int64_t ctx = model.cfg.context_length;
  if (static_cast<int64_t>(prompt.size()) >= ctx)
    fail("generate", "the prompt has " + std::to_string(prompt.size()) + " tokens, the model's context is " +
                         std::to_string(ctx));
  GenerateResult r;
  r.prompt_tokens = static_cast<int64_t>(prompt.size());
  int64_t capacity = std::min<int64_t>(ctx, r.prompt_tokens + opt.max_tokens);
  auto cache = model.make_cache(capacity, opt.kv_dtype);
  Sampler sampler(opt.sampler);
  StreamDecoder stream(tok);
  std::vector<float> logits(model.cfg.vocab_size);
  {
    // oneDNN generates its sgemm kernels on the first call (about 0.1 s
    // here, more than a short prompt's whole forward); do that before the
    // clock starts, as llama.cpp's warm-up run does, so prompt tokens/s
    // measures the prompt.
    float a[64] = {0}, b[64] = {0}, c[64];
    ops::gemm<float>(false, true, 8, 8, 8, 1.0f, a, 8, b, 8, 0.0f, c, 8);
  }
  auto t0 = std::chrono::steady_clock::now();
  if (opt.max_tokens > 0) model.forward_cached(cache, prompt.data(), static_cast<int64_t>(prompt.size()), logits.data());
  auto t1 = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < opt.max_tokens; ++i) {
    int32_t id = sampler.sample(logits.data(), model.cfg.vocab_size);
    if (opt.stop_at_eos && id == tok.eos_id()) break;
    r.tokens.push_back(id);
    std::string piece = stream.push(id);
    if (!piece.empty()) {
      r.text += piece;
      on_text(piece);
    }
    if (i + 1 == opt.max_tokens) break;
    if (cache.length >= capacity) {
      r.hit_context_limit = true;
      log_warn("stopped at the model's context length (" + std::to_string(ctx) + " tokens)");
      break;
    }
    model.forward_cached(cache, &id, 1, logits.data());
    ++r.decode_steps;
  }
  auto t2 = std::chrono::steady_clock::now();
  std::string rest = stream.flush();
  if (!rest.empty()) {
    r.text += rest;
    on_text(rest);
  }
  r.prompt_seconds = std::chrono::duration<double>(t1 - t0).count();
  r.decode_seconds = std::chrono::duration<double>(t2 - t1).count();
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.tokens_per_second = r.seconds > 0 ? static_cast<double>(r.tokens.size()) / r.seconds : 0;
  return r;
}

}  // namespace peft
