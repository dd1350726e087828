#include "train/run_settings.h"

#include <algorithm>

#include "adapters/registry.h"
#include "core/error.h"

namespace peft {

void resolve_run_defaults(RunSettings& s, bool rank_given) {
  const MethodSpec& spec = method_spec(s.method);
  s.method = spec.name;  // an alias is recorded as the method it names
  if (s.lr == 0) s.lr = spec.default_lr;
  if (!rank_given) s.rank = spec.default_rank;
  if (s.steps == 0 && s.epochs == 0) s.steps = 100;
  if (s.sampling.empty()) s.sampling = s.epochs > 0 ? "epochs" : "random";
  if (s.sampling != "random" && s.sampling != "epochs")
    fail("train", "unknown sampling '" + s.sampling + "' (use random or epochs)");
}

int64_t steps_for_epochs(int64_t rows_per_epoch, int64_t epochs, int64_t batch_size, int64_t grad_accum) {
  if (rows_per_epoch < 0 || epochs <= 0 || batch_size <= 0 || grad_accum <= 0)
    fail("train", "epochs, batch size and gradient accumulation must be positive");
  const int64_t per_step = batch_size * grad_accum;
  return std::max<int64_t>(1, (rows_per_epoch * epochs + per_step - 1) / per_step);
}

AdapterConfig adapter_config_of(const RunSettings& o) {
  AdapterConfig ac;
  ac.method = o.method;
  ac.rank = o.rank;
  ac.alpha = o.alpha > 0 ? o.alpha : o.rank;
  ac.dropout = o.dropout;
  ac.rslora = o.rslora;
  ac.init = o.init;
  ac.targets = parse_target_list(o.targets);
  ac.target_regex = o.target_regex;
  ac.seed = o.seed;
  ac.vera_d_initial = o.vera_d_initial;
  ac.vera_seed = o.vera_seed;
  ac.delta_ratio = o.delta_ratio;
  ac.delta_start = o.delta_start;
  ac.lora_fa_projection = o.lora_fa_projection;
  return ac;
}

DataOptions data_options_of(const RunSettings& o) {
  DataOptions d;
  d.seq_len = o.seq_len;
  d.eval_split = o.eval_split;
  d.eval_path = o.eval_data;
  d.sampling = o.sampling == "epochs" ? Sampling::Epochs : Sampling::Random;
  d.seed = o.seed;
  d.prompt_field = o.prompt_field;
  d.completion_field = o.completion_field;
  d.text_field = o.text_field;
  d.train_on_prompt = o.train_on_prompt;
  d.chat_template = o.chat_template;
  return d;
}

TrainOptions train_options_of(const RunSettings& o, int64_t rows_per_epoch) {
  TrainOptions to;
  to.batch_size = o.batch_size;
  to.grad_accum = o.grad_accum;
  to.steps = o.epochs > 0 && o.steps == 0 ? steps_for_epochs(rows_per_epoch, o.epochs, o.batch_size, o.grad_accum)
                                          : o.steps;
  to.lr = o.lr;
  to.schedule = parse_schedule(o.schedule);
  to.warmup = o.warmup;
  to.opt.weight_decay = o.weight_decay;
  to.opt.max_grad_norm = o.max_grad_norm;
  to.opt.lora_plus_ratio = method_spec(o.method).uses("lora-plus-ratio") ? o.lora_plus_ratio : 1.0;
  to.eval_every = o.eval_every;
  to.eval_windows = o.eval_windows;
  to.save_every = o.save_every;
  to.log_every = o.log_every;
  to.reduce_blocks = o.reduce_blocks;
  return to;
}

nlohmann::json run_record(const RunSettings& o) {
  nlohmann::json j = {{"model", o.model}, {"data", o.data}, {"eval_data", o.eval_data}, {"method", o.method},
          {"rank", o.rank}, {"alpha", o.alpha}, {"dropout", o.dropout}, {"targets", o.targets},
          {"target_regex", o.target_regex}, {"init", o.init}, {"rslora", o.rslora},
          {"lora_plus_ratio", o.lora_plus_ratio}, {"vera_d_initial", o.vera_d_initial}, {"vera_seed", o.vera_seed},
          {"delta_ratio", o.delta_ratio}, {"delta_start", o.delta_start}, {"lora_fa_projection", o.lora_fa_projection},
          {"lr", o.lr}, {"schedule", o.schedule}, {"warmup", o.warmup}, {"weight_decay", o.weight_decay},
          {"max_grad_norm", o.max_grad_norm}, {"batch_size", o.batch_size}, {"grad_accum", o.grad_accum},
          {"seq_len", o.seq_len}, {"sampling", o.sampling}, {"seed", o.seed}, {"eval_split", o.eval_split},
          {"steps", o.steps}, {"epochs", o.epochs}, {"save_every", o.save_every}, {"eval_every", o.eval_every},
          {"log_every", o.log_every}, {"grad_checkpoint", o.grad_checkpoint}, {"prompt_field", o.prompt_field},
          {"completion_field", o.completion_field}, {"text_field", o.text_field},
          {"train_on_prompt", o.train_on_prompt}, {"chat_template", o.chat_template},
          {"reduce_blocks", o.reduce_blocks}};
  if (o.task != "llm") {
    j["task"] = o.task;
    j["loss"] = o.loss;
    j["matryoshka"] = o.matryoshka;
    j["prompt"] = o.prompt;
    j["query_prompt"] = o.query_prompt;
    j["doc_prompt"] = o.doc_prompt;
    j["mini_batch"] = o.mini_batch;
    j["max_length"] = o.max_length;
    j["pooling"] = o.pooling;
  }
  return j;
}

const std::vector<std::string>& settings_free_on_resume() {
  static const std::vector<std::string> k = {"steps", "save_every", "eval_every", "log_every", "out", "resume", "quiet",
                                              // the order of the gradient sums only
                                              "reduce_blocks"};
  return k;
}

void check_resume_settings(const nlohmann::json& saved, const nlohmann::json& now, const std::string& dir) {
  const auto& free = settings_free_on_resume();
  for (auto& [k, v] : now.items()) {
    if (std::find(free.begin(), free.end(), k) != free.end()) continue;
    if (!saved.contains(k) || saved[k] != v)
      fail("train", "cannot resume from '" + dir + "': '" + k + "' was " + (saved.contains(k) ? saved[k].dump() : "unset") +
                        ", now " + v.dump());
  }
}

}  // namespace peft
