// peft perplexity: mean NLL and perplexity of a text under a model, under our
// sliding-window protocol or llama-perplexity's (src/train/perplexity.h).
#include <cstdio>
#include <nlohmann/json.hpp>

#include "command.h"
#include "common.h"
#include "core/error.h"
#include "io/atomic_file.h"
#include "train/apply_adapter.h"
#include "train/perplexity.h"
#include "train/pretrained.h"

namespace peft::cli {
namespace {

struct Opts {
  std::string base_dtype = "auto";
  CommonOptions common;
  std::string model, data, protocol = "sliding";
  PerplexityOptions ppl;
  bool json = false;
  std::vector<std::string> adapters;
};

std::function<int()> setup(CLI::App& app) {
  auto o = std::make_shared<Opts>();
  app.add_option("-m,--model", o->model, std::string("Model: ") + kModelInput)->required()->check(CLI::ExistingPath);
  app.add_option("-d,--data", o->data, "Text file to score")->required()->check(CLI::ExistingFile);
  app.add_option("--protocol", o->protocol,
                 "sliding: BOS + the whole text, every token scored once in windows of --context advancing by "
                 "--stride (default); llama.cpp: llama-perplexity's chunks of --context tokens, each starting "
                 "with BOS, scoring the second half of each, printing its 'Final estimate: PPL' line (llama-perplexity "
                 "keeps K/V in f16 by default, which moves its PPL by up to ~2e-4 relative; -ctk f32 -ctv f32 matches)")
      ->capture_default_str();
  app.add_option("-c,--context", o->ppl.context,
                 "Window (sliding) or chunk (llama.cpp) length in tokens; 0 = the model's context length "
                 "(sliding) or 512 as llama-perplexity (llama.cpp)")
      ->check(kNonNegative);
  app.add_option("--stride", o->ppl.stride, "sliding: window advance in tokens; 0 = half the window")
      ->check(kNonNegative);
  app.add_option("--max-tokens", o->ppl.max_tokens, "Keep the first N tokens of the text; 0 = all")
      ->check(kNonNegative);
  app.add_option("--chunks", o->ppl.max_chunks, "llama.cpp: score at most N chunks; 0 = all")
      ->check(kNonNegative);
  app.add_flag("--json", o->json, "Print {\"tokens\", \"mean_nll\", \"perplexity\", ...} as JSON");
  app.add_option("--adapter", o->adapters, "PEFT adapter folder, optionally DIR:SCALE; repeat to add several")->default_str("");
  add_base_dtype_option(app, o->base_dtype);
  add_common_options(app, o->common);
  return [o]() {
    apply_common_options(o->common);
    // Check the flags before the (possibly large) model loads.
    o->ppl.protocol = parse_perplexity_protocol(o->protocol);
    const bool llama = o->ppl.protocol == PerplexityProtocol::LlamaCpp;
    if (llama && o->ppl.stride > 0) fail("perplexity", "--stride applies to --protocol sliding only");
    if (!llama && o->ppl.max_chunks > 0) fail("perplexity", "--chunks applies to --protocol llama.cpp only");
    const std::vector<AdapterSpec> specs = check_adapter_folders(o->adapters);
    std::string text = read_file_bytes(o->data);
    Pretrained p = load_pretrained(o->model, parse_base_dtype(o->base_dtype));
    log_base_storage(p);
    apply_adapters(p, specs);
    PerplexityResult r = perplexity_of_text(*p.model, *p.tokenizer, text, o->ppl);
    if (o->json) {
      nlohmann::json j{{"protocol", o->protocol}, {"tokens", r.tokens},   {"mean_nll", r.mean_nll},
                       {"perplexity", r.perplexity}, {"context", r.context}, {"windows", r.windows}};
      if (!llama) j["stride"] = r.stride;
      std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict).c_str());
    } else if (llama) {
      // llama-perplexity's own line and precision, so the two compare at a glance.
      std::printf("chunks %lld of %lld tokens, %lld tokens scored, mean NLL %.6f nats\n",
                  static_cast<long long>(r.windows), static_cast<long long>(r.context),
                  static_cast<long long>(r.tokens), r.mean_nll);
      std::printf("Final estimate: PPL = %.4f\n", r.perplexity);
    } else {
      std::printf("tokens %lld  mean NLL %.4f nats  perplexity %.2f  (window %lld, stride %lld, %lld windows)\n",
                  static_cast<long long>(r.tokens), r.mean_nll, r.perplexity, static_cast<long long>(r.context),
                  static_cast<long long>(r.stride), static_cast<long long>(r.windows));
    }
    return 0;
  };
}

PEFT_COMMAND("perplexity", "Score a text file: mean NLL and perplexity", setup);

}  // namespace
}  // namespace peft::cli
