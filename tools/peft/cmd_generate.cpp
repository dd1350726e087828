// peft generate: sample a continuation from a model, streamed to stdout.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "command.h"
#include "common.h"
#include "core/log.h"
#include "train/generate.h"
#include "train/apply_adapter.h"
#include "train/pretrained.h"

namespace peft::cli {
namespace {

struct Opts {
  std::string base_dtype = "auto";
  CommonOptions common;
  std::string model, prompt;
  int64_t max_tokens = 256;
  double temperature = 0.8, top_p = 0.95;
  int64_t top_k = 40;
  uint64_t seed = 0;
  bool json = false, ignore_eos = false;
  std::string kv_dtype = "bf16";
  std::vector<std::string> adapters;
};

std::function<int()> setup(CLI::App& app) {
  auto o = std::make_shared<Opts>();
  app.add_option("-m,--model", o->model, std::string("Model: ") + kModelInput)->required()->check(CLI::ExistingPath);
  app.add_option("-p,--prompt", o->prompt, "Text to continue (default: start from BOS)");
  app.add_option("-n,--max-tokens", o->max_tokens, "Tokens to generate")->check(kNonNegative);
  app.add_option("--temperature", o->temperature, "Sampling temperature; 0 = greedy")->check(kNonNegative);
  app.add_option("--top-k", o->top_k, "Keep the k most likely tokens (0 = all)")->check(kNonNegative);
  app.add_option("--top-p", o->top_p, "Nucleus sampling threshold in (0, 1]; 1 = off")->check(CLI::Range(0.0, 1.0));
  app.add_option("--seed", o->seed, "Random seed");
  app.add_option("--kv-dtype", o->kv_dtype, "KV cache storage: bf16 (half the memory) or f32 (exact)")
      ->default_str("bf16");
  app.add_flag("--ignore-eos", o->ignore_eos, "Keep generating past the end-of-text token (for timing)");
  app.add_flag("--json", o->json, "Print one JSON object {text, tokens, tokens_per_second} instead of streaming");
  app.add_option("--adapter", o->adapters, "PEFT adapter folder, optionally DIR:SCALE; repeat to add several")->default_str("");
  add_base_dtype_option(app, o->base_dtype);
  add_common_options(app, o->common);
  return [o]() {
    apply_common_options(o->common);
    const DType kv_dtype = parse_kv_dtype(o->kv_dtype);
    const std::vector<AdapterSpec> specs = check_adapter_folders(o->adapters);
    Pretrained p = load_pretrained(o->model, parse_base_dtype(o->base_dtype));
    log_base_storage(p);
    apply_adapters(p, specs);
    GenerateOptions g;
    g.prompt = o->prompt;
    g.max_tokens = o->max_tokens;
    g.sampler.temperature = o->temperature;
    g.sampler.top_k = o->top_k;
    g.sampler.top_p = o->top_p;
    g.sampler.seed = o->seed;
    g.stop_at_eos = !o->ignore_eos;
    g.kv_dtype = kv_dtype;
    GenerateResult r = generate(*p.model, *p.tokenizer, g, [&](const std::string& piece) {
      if (!o->json) {
        std::fwrite(piece.data(), 1, piece.size(), stdout);
        std::fflush(stdout);
      }
    });
    if (o->json) {
      nlohmann::json j;
      j["text"] = r.text;
      j["tokens"] = r.tokens;
      j["prompt_tokens"] = r.prompt_tokens;
      j["tokens_per_second"] = r.tokens_per_second;
      j["prompt_tokens_per_second"] = r.prompt_tokens_per_second();
      j["decode_tokens_per_second"] = r.decode_tokens_per_second();
      std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    } else {
      char line[160];
      std::snprintf(line, sizeof line, "\n[%zu tokens, %.1f tokens/s; prompt %lld tokens at %.1f tokens/s, decode %.1f tokens/s]",
                    r.tokens.size(), r.tokens_per_second, static_cast<long long>(r.prompt_tokens),
                    r.prompt_tokens_per_second(), r.decode_tokens_per_second());
      log_info(line);
    }
    return 0;
  };
}

PEFT_COMMAND("generate", "Generate text from a model", setup);

}  // namespace
}  // namespace peft::cli
