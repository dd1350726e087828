// peft perplexity: mean NLL of a text under a model (the golden protocol).
#include <cstdio>
#include <nlohmann/json.hpp>

#include "command.h"
#include "common.h"
#include "core/error.h"
#include "core/log.h"
#include "io/atomic_file.h"
#include "train/perplexity.h"
#include "train/apply_adapter.h"
#include "train/pretrained.h"

namespace peft::cli {
namespace {

struct Opts {
  CommonOptions common;
  std::string model, data;
  int64_t max_tokens = 0, context = 0, stride = 0;
  bool json = false;
  std::vector<std::string> adapters;
};

std::function<int()> setup(CLI::App& app) {
  auto o = std::make_shared<Opts>();
  app.add_option("-m,--model", o->model, "Model: a GGUF file")->required();
  app.add_option("-d,--data", o->data, "Text file to score")->required();
  app.add_option("--max-tokens", o->max_tokens, "Keep the first N tokens of the text (default: all)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--context", o->context, "Window length in tokens (default: the model's context length)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--stride", o->stride, "Window advance in tokens (default: half the window)")
      ->check(CLI::NonNegativeNumber);
  app.add_flag("--json", o->json, "Print {\"tokens\", \"mean_nll\", \"perplexity\"} as JSON");
  app.add_option("--adapter", o->adapters, "PEFT adapter folder, optionally DIR:SCALE; repeat to add several");
  add_common_options(app, o->common);
  return [o]() {
    apply_common_options(o->common);
    std::string text = read_file_bytes(o->data);
    Pretrained p = load_pretrained(o->model);
    std::vector<AdapterSpec> specs;
    for (const auto& a : o->adapters) specs.push_back(parse_adapter_spec(a));
    apply_adapters(p, specs);
    // The protocol: tokenize without specials, keep the first N, prepend BOS.
    std::vector<int32_t> ids = p.tokenizer->encode(text, false);
    if (o->max_tokens > 0 && static_cast<int64_t>(ids.size()) > o->max_tokens) ids.resize(o->max_tokens);
    if (ids.empty()) fail("perplexity", "'" + o->data + "' has no tokens to score");
    if (p.tokenizer->bos_id() >= 0) ids.insert(ids.begin(), p.tokenizer->bos_id());
    int64_t window = o->context > 0 ? o->context : p.model->cfg.context_length;
    int64_t stride = o->stride > 0 ? o->stride : window / 2;
    PerplexityResult r = perplexity(*p.model, ids, window, stride);
    if (o->json) {
      nlohmann::json j{{"tokens", r.tokens}, {"mean_nll", r.mean_nll}, {"perplexity", r.perplexity},
                       {"window", window}, {"stride", stride}, {"windows", r.windows}};
      std::printf("%s\n", j.dump().c_str());
    } else {
      std::printf("tokens %lld  mean NLL %.4f nats  perplexity %.2f  (window %lld, stride %lld, %lld windows)\n",
                  static_cast<long long>(r.tokens), r.mean_nll, r.perplexity, static_cast<long long>(window),
                  static_cast<long long>(stride), static_cast<long long>(r.windows));
    }
    return 0;
  };
}

PEFT_COMMAND("perplexity", "Score a text file: mean NLL and perplexity", setup);

}  // namespace
}  // namespace peft::cli
