#include "train/run_summary.h"

#include <cmath>

namespace peft {

MemorySplit memory_split(int64_t total_params, int64_t trainable_params, int64_t activation_bytes) {
  MemorySplit m;
  m.weights = 4 * total_params;
  m.gradients = 4 * trainable_params;
  m.optimizer = 8 * trainable_params;
  m.activations = activation_bytes;
  return m;
}

namespace {

// NaN (no evaluation data) is written as null rather than a number.
nlohmann::json number_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); }

// "blk.0.attn_q.lora_A" -> "lora_A"
std::string short_name(const std::string& full) {
  const size_t dot = full.rfind('.');
  return dot == std::string::npos ? full : full.substr(dot + 1);
}

}  // namespace

nlohmann::json run_summary(LlamaModel<float>& model, const MethodSetup& setup, const TrainSummary& s,
                           int64_t steps, double lora_plus_ratio) {
  return run_summary(model.all_linears(), model.cfg.describe(), setup, s, steps, lora_plus_ratio);
}

nlohmann::json run_summary(const std::vector<Linear<float>*>& linears, const std::string& model_shape,
                           const MethodSetup& setup, const TrainSummary& s, int64_t steps, double lora_plus_ratio) {
  const bool full = method_spec(setup.method).trains_base;
  const MemorySplit mem = memory_split(setup.total, setup.trainable, s.saved_activation_bytes);
  nlohmann::json j{{"method", setup.method},
                   {"trainable_parameters", setup.trainable},
                   {"total_parameters", setup.total},
                   {"steps", steps},
                   {"tokens", s.tokens},
                   {"eval_loss_before", number_or_null(s.eval_loss_before)},
                   {"eval_loss_after", number_or_null(s.eval_loss_after)},
                   {"eval_perplexity_before", number_or_null(std::exp(s.eval_loss_before))},
                   {"eval_perplexity_after", number_or_null(std::exp(s.eval_loss_after))},
                   {"final_train_loss", s.final_train_loss},
                   {"tokens_per_second", s.tokens_per_second},
                   {"seconds", s.seconds},
                   {"saved_activation_bytes", s.saved_activation_bytes},
                   {"memory_bytes",
                    {{"weights", mem.weights},
                     {"gradients", mem.gradients},
                     {"optimizer", mem.optimizer},
                     {"activations", mem.activations}}},
                   {"model_shape", model_shape}};
  if (s.texts > 0) {
    j["texts"] = s.texts;
    j["texts_per_second"] = s.texts_per_second;
  }
  if (!full) {
    const AdapterConfig& a = setup.adapter;
    j["adapter"] = {{"rank", a.rank},
                    {"alpha", a.alpha},
                    {"rslora", a.rslora},
                    {"scale", a.rslora ? a.alpha / std::sqrt(static_cast<double>(a.rank)) : a.alpha / a.rank}};
    if (lora_plus_ratio != 1.0) j["adapter"]["lora_plus_ratio"] = lora_plus_ratio;
    if (method_spec(setup.method).uses("delta-ratio")) {
      j["adapter"]["delta_ratio"] = a.delta_ratio;
      j["adapter"]["delta_start"] = a.delta_start;
    }
  }
  if (setup.vera)
    j["vera_shared"] = {{"rank", setup.vera->rank()}, {"max_in", setup.vera->max_in()}, {"max_out", setup.vera->max_out()}};
  nlohmann::json layers = nlohmann::json::array();
  for (Linear<float>* lin : linears) {
    if (!full && !lin->adapter) continue;
    nlohmann::json l{{"name", lin->info.name}, {"module", lin->info.module}, {"out", lin->out()}, {"in", lin->in()}};
    nlohmann::json params = nlohmann::json::array();
    auto add = [&](ParamRef<float>& p) {
      params.push_back({{"name", short_name(p.name)}, {"shape", p.shape}, {"group", p.group}});
    };
    if (full) {
      params.push_back({{"name", "weight"}, {"shape", {lin->out(), lin->in()}}, {"group", "base"}});
    } else {
      lin->adapter->visit_params(add);
    }
    l["trainable"] = params;
    layers.push_back(l);
  }
  j["layers"] = layers;
  return j;
}

}  // namespace peft
