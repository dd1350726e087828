// peft train: fine-tune a model on a text file with one of the methods.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "command.h"
#include "common.h"
#include "core/error.h"
#include "core/log.h"
#include "io/atomic_file.h"
#include "train/method.h"
#include "train/output.h"
#include "train/pretrained.h"
#include "train/trainer.h"
#include "train/training_data.h"

namespace peft::cli {
namespace {

struct Opts {
  CommonOptions common;
  std::string model, data, eval_data, method = "lora", out, resume, schedule = "constant", sampling;
  std::string targets, target_regex, init = "kaiming";
  int rank = 8;
  double alpha = 0;  // 0 = same as rank
  double dropout = 0, lora_plus_ratio = 16, vera_d_initial = 0.1, delta_ratio = 2;
  int64_t delta_start = 0;
  uint64_t vera_seed = 0;
  bool rslora = false, lora_fa_projection = false, grad_checkpoint = false, json = false;
  int64_t steps = 0, epochs = 0, batch_size = 8, grad_accum = 1, seq_len = 256, warmup = 0;
  double lr = 0, weight_decay = 0, max_grad_norm = 1.0, eval_split = 0.1;
  int64_t eval_every = 0, save_every = 0, eval_windows = 0, log_every = 10, save_total_limit = 0;
  std::string save_optimizer_state = "all";
  uint64_t seed = 0;
  // Fields of data records (JSONL).
  std::string prompt_field, completion_field, text_field, chat_template;
  bool train_on_prompt = false;
};

nlohmann::json run_config_of(const Opts& o, const std::string& method) {
  // What must match for a resume to continue the same run.
  return {{"model", o.model}, {"data", o.data}, {"eval_data", o.eval_data}, {"method", method},
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
          {"train_on_prompt", o.train_on_prompt}, {"chat_template", o.chat_template}};
}

// The method-specific flags and the methods that read them. A flag given
// with another method is ignored, which the user is told (a warning, not an
// error, so one command line can be reused across methods).
// TODO(issue 7, item 6): take this from the method registry once it exists.
struct MethodFlag {
  const char* flag;
  std::vector<std::string> methods;
};

const std::vector<MethodFlag>& method_flags() {
  const std::vector<std::string> adapters{"lora", "lora-fa", "vera", "delta-lora", "lora-plus"};
  const std::vector<std::string> lora_style{"lora", "lora-fa", "delta-lora", "lora-plus"};
  static const std::vector<MethodFlag> t{
      {"--rank", adapters},          {"--alpha", lora_style},
      {"--dropout", adapters},       {"--rslora", lora_style},
      {"--init", lora_style},        {"--targets", adapters},
      {"--target-regex", adapters},  {"--lora-plus-ratio", {"lora-plus"}},
      {"--lora-fa-projection", {"lora-fa"}},
      {"--vera-d-initial", {"vera"}}, {"--vera-seed", {"vera"}},
      {"--delta-ratio", {"delta-lora"}}, {"--delta-start", {"delta-lora"}},
  };
  return t;
}

void warn_ignored_flags(const CLI::App& app, const std::string& method) {
  for (const MethodFlag& f : method_flags()) {
    if (app.get_option(f.flag)->count() == 0) continue;
    if (std::find(f.methods.begin(), f.methods.end(), method) != f.methods.end()) continue;
    std::string users;
    for (const auto& m : f.methods) users += (users.empty() ? "" : ", ") + m;
    log_warn(std::string(f.flag) + " is ignored by --method " + method + " (it applies to " + users + ")");
  }
}

// Everything that can be refused without the model and the data, so a bad
// command line fails in a moment instead of after the load.
void check_before_loading(const CLI::App& app, const Opts& o) {
  const auto& methods = train_methods();
  if (std::find(methods.begin(), methods.end(), o.method) == methods.end()) {
    std::string list;
    for (const auto& m : methods) list += (list.empty() ? "" : ", ") + m;
    fail("train", "unknown method '" + o.method + "' (use one of: " + list + ")");
  }
  parse_schedule(o.schedule);
  parse_resume_state(o.save_optimizer_state);
  if (!o.sampling.empty() && o.sampling != "random" && o.sampling != "epochs")
    fail("train", "unknown sampling '" + o.sampling + "' (use random or epochs)");
  auto given = [&](const char* flag) { return app.get_option(flag)->count() > 0; };
  if (given("--steps") && given("--epochs"))
    fail("train", "--steps and --epochs conflict: give one (epochs are turned into steps)");
  if (given("--targets") && given("--target-regex"))
    fail("train", "--targets and --target-regex conflict: give one (the regex chooses the layers by name)");
  if (given("--eval-data") && given("--eval-split"))
    fail("train", "--eval-data and --eval-split conflict: with --eval-data no part of --data is held out");
  if (!o.resume.empty()) {
    const std::string state = (std::filesystem::path(o.resume) / "trainer_state.json").string();
    if (!std::filesystem::exists(state)) fail("train", "'" + o.resume + "' is not a checkpoint (no trainer_state.json)");
    const nlohmann::json j = nlohmann::json::parse(read_file_bytes(state), nullptr, false);
    if (j.is_object() && !j.value("resumable", true))
      fail("train", "cannot resume from '" + o.resume +
                        "': it was saved without the optimizer state (--save-optimizer-state)");
  }
  check_dir_writable(o.out, "train");
}

std::function<int()> setup(CLI::App& app) {
  auto o = std::make_shared<Opts>();
  app.add_option("-m,--model", o->model, std::string("Base model: ") + kModelInput)
      ->required()
      ->check(CLI::ExistingPath);
  app.add_option("-d,--data", o->data, "Training data: a text file, or JSONL with text / prompt+completion / messages")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--method", o->method, "full, lora, lora-fa, vera, delta-lora or lora-plus");
  app.add_option("-o,--out", o->out, "Output folder: adapter (PEFT layout) or model, metrics.jsonl, checkpoints")
      ->required();
  CLI::Option* rank_opt =
      app.add_option("--rank", o->rank, "Adapter rank r, > 0 (VeRA: shared projection rank; default 8, VeRA 256)")
          ->default_str("");
  app.add_option("--alpha", o->alpha, "LoRA alpha (default: equal to the rank, so s = 1)")->default_str("");
  app.add_option("--dropout", o->dropout, "Dropout on the adapter input")->check(CLI::Range(0.0, 0.99));
  app.add_flag("--rslora", o->rslora, "Scale by alpha/sqrt(r) instead of alpha/r");
  app.add_option("--init", o->init, "LoRA init: kaiming, gaussian, pissa or pissa_niter_K");
  app.add_option("--targets", o->targets, "Layers to adapt: q,k,v,o,gate,up,down (comma list) or all-linear; default q,v");
  app.add_option("--target-regex", o->target_regex, "Regex over layer names such as blk.3.attn_q (instead of --targets)");
  app.add_option("--lora-plus-ratio", o->lora_plus_ratio, "LoRA+: B learns at lr x ratio")->check(kPositive);
  app.add_flag("--lora-fa-projection", o->lora_fa_projection, "LoRA-FA: project B's gradient as PEFT's LoRA-FA optimizer");
  app.add_option("--vera-d-initial", o->vera_d_initial, "VeRA: initial lambda_d");
  app.add_option("--vera-seed", o->vera_seed, "VeRA: seed of the shared projections");
  app.add_option("--delta-ratio", o->delta_ratio, "Delta-LoRA: lambda")->check(kNonNegative);
  app.add_option("--delta-start", o->delta_start, "Delta-LoRA: first step K after which W is updated")
      ->check(kNonNegative);
  app.add_option("--lr", o->lr, "Peak learning rate, > 0 (default: 1e-4 full, 1e-2 VeRA, 2e-3 otherwise)")
      ->check(kPositive)
      ->default_str("");
  app.add_option("--steps", o->steps, "Optimizer steps, > 0 (default 100 unless --epochs)")
      ->check(kPositive)
      ->default_str("");
  app.add_option("--epochs", o->epochs, "Passes over the data (windows in shuffled order), > 0; instead of --steps")
      ->check(kPositive)
      ->default_str("");
  app.add_option("-b,--batch-size", o->batch_size, "Sequences per micro-batch")->check(kPositive);
  app.add_option("--grad-accum", o->grad_accum, "Micro-batches per optimizer step")->check(kPositive);
  app.add_option("--seq-len", o->seq_len, "Tokens per sequence (at most the model's context)")->check(kPositive);
  app.add_option("--warmup", o->warmup, "Warmup steps")->check(kNonNegative);
  app.add_option("--schedule", o->schedule, "constant, linear or cosine");
  app.add_option("--sampling", o->sampling,
                 "random (windows at random offsets) or epochs (default: random with --steps, epochs with --epochs)");
  app.add_option("--weight-decay", o->weight_decay, "AdamW weight decay")->check(kNonNegative);
  app.add_option("--max-grad-norm", o->max_grad_norm, "Clip the global gradient norm; 0 = off")
      ->check(kNonNegative);
  app.add_option("--eval-data", o->eval_data, "Evaluation text (default: the last --eval-split of the data)")
      ->check(CLI::ExistingFile);
  app.add_option("--eval-split", o->eval_split, "Fraction of the data held out for evaluation")->check(CLI::Range(0.0, 0.9));
  app.add_option("--eval-every", o->eval_every, "Evaluate every N steps (always before and after); 0 = never between")
      ->check(kNonNegative);
  app.add_option("--eval-windows", o->eval_windows, "Evaluate on at most N windows; 0 = all")
      ->check(kNonNegative);
  app.add_option("--save-every", o->save_every, "Write a checkpoint every N steps (and always at the end); 0 = only the end")
      ->check(kNonNegative);
  app.add_option("--save-total-limit", o->save_total_limit,
                 "Keep only the newest N checkpoint folders, deleting older ones; 0 = keep all")
      ->check(kNonNegative);
  app.add_option("--save-optimizer-state", o->save_optimizer_state,
                 "Checkpoints that keep the optimizer state --resume needs: all, intermediate (no final "
                 "checkpoint: the output folder holds the result) or none (weights only)");
  app.add_option("--log-every", o->log_every, "Progress line every N steps when not on a terminal")
      ->check(kPositive);
  app.add_option("--resume", o->resume, "Continue from a checkpoint folder (out/checkpoint-N)")
      ->check(CLI::ExistingDirectory);
  app.add_option("--seed", o->seed, "Seed for init, dropout and data order");
  app.add_flag("--grad-checkpoint", o->grad_checkpoint, "Recompute each layer in backward (less memory)");
  app.add_option("--prompt-field", o->prompt_field, "JSONL: field holding the prompt (e.g. question)");
  app.add_option("--completion-field", o->completion_field, "JSONL: field holding the completion (e.g. answer)");
  app.add_option("--text-field", o->text_field, "JSONL: field holding plain text");
  app.add_option("--chat-template", o->chat_template,
                 "JSONL messages: chatml, llama-2 or a template file (default: the model's, else chatml)");
  app.add_flag("--train-on-prompt", o->train_on_prompt, "Also compute the loss on prompts and user turns");
  app.add_flag("--json", o->json, "Print the final summary as JSON on stdout");
  add_common_options(app, o->common);
  return [o, rank_opt, &app]() {
    apply_common_options(o->common);
    const std::string method = o->method;
    check_before_loading(app, *o);
    warn_ignored_flags(app, method);
    if (o->lr == 0) o->lr = method == "full" ? 1e-4 : method == "vera" ? 1e-2 : 2e-3;
    if (method == "vera" && rank_opt->count() == 0) o->rank = 256;
    if (o->steps == 0 && o->epochs == 0) o->steps = 100;
    if (o->sampling.empty()) o->sampling = o->epochs > 0 ? "epochs" : "random";
    AdapterConfig ac;
    ac.rank = o->rank;
    ac.alpha = o->alpha > 0 ? o->alpha : o->rank;
    ac.dropout = o->dropout;
    ac.rslora = o->rslora;
    ac.init = o->init;
    if (!o->targets.empty()) {
      std::string t = o->targets, cur;
      for (char ch : t + ",") {
        if (ch == ',') {
          if (!cur.empty()) ac.targets.push_back(cur);
          cur.clear();
        } else if (ch != ' ') {
          cur += ch;
        }
      }
    }
    ac.target_regex = o->target_regex;
    ac.seed = o->seed;
    ac.vera_d_initial = o->vera_d_initial;
    ac.vera_seed = o->vera_seed;
    ac.delta_ratio = o->delta_ratio;
    ac.delta_start = o->delta_start;
    if (method != "full") {
      ac.method = method;
      validate_adapter_config(ac);  // rank, dropout, init, targets: before the load
    }

    Pretrained p = load_pretrained(o->model);
    if (o->seq_len > p.model->cfg.context_length) {
      log_warn("--seq-len " + std::to_string(o->seq_len) + " is longer than the model's context (" +
               std::to_string(p.model->cfg.context_length) + "); using " + std::to_string(p.model->cfg.context_length));
      o->seq_len = p.model->cfg.context_length;
    }

    DataOptions dopt;
    dopt.seq_len = o->seq_len;
    dopt.eval_split = o->eval_split;
    dopt.eval_path = o->eval_data;
    dopt.sampling = o->sampling == "epochs" ? Sampling::Epochs : Sampling::Random;
    dopt.seed = o->seed;
    dopt.prompt_field = o->prompt_field;
    dopt.completion_field = o->completion_field;
    dopt.text_field = o->text_field;
    dopt.train_on_prompt = o->train_on_prompt;
    dopt.chat_template = o->chat_template;
    dopt.model_chat_template = model_chat_template(p);
    TrainingData data = load_training_data(o->data, *p.tokenizer, dopt);
    log_info("data: " + std::to_string(data.train->tokens()) + " training tokens, " +
             (data.eval ? std::to_string(data.eval->tokens()) + " evaluation tokens" : "no evaluation data"));

    auto ms = setup_method(*p.model, method, ac, p.format == "gguf");
    p.model->grad_checkpoint = o->grad_checkpoint;
    char share[64];
    std::snprintf(share, sizeof share, "%.4f%%", 100.0 * static_cast<double>(ms->trainable) / static_cast<double>(ms->total));
    log_info("method " + method + ": " + std::to_string(ms->trainable) + " trainable parameters of " +
             std::to_string(ms->total) + " (" + share + ")");

    TrainOptions to;
    to.batch_size = o->batch_size;
    to.grad_accum = o->grad_accum;
    if (o->epochs > 0 && o->steps == 0) {
      int64_t per_step = o->batch_size * o->grad_accum;
      to.steps = std::max<int64_t>(1, (data.train->rows_per_epoch() * o->epochs + per_step - 1) / per_step);
    } else {
      to.steps = o->steps;
    }
    to.lr = o->lr;
    to.schedule = parse_schedule(o->schedule);
    to.warmup = o->warmup;
    to.opt.weight_decay = o->weight_decay;
    to.opt.max_grad_norm = o->max_grad_norm;
    to.opt.lora_plus_ratio = method == "lora-plus" ? o->lora_plus_ratio : 1.0;
    to.eval_every = o->eval_every;
    to.eval_windows = o->eval_windows;
    to.save_every = o->save_every;
    to.save_total_limit = o->save_total_limit;
    to.resume_state = parse_resume_state(o->save_optimizer_state);
    to.log_every = o->log_every;
    to.out_dir = o->out;
    to.progress = !o->common.quiet;

    Trainer trainer(*p.model, *data.train, data.eval.get(), to, run_config_of(*o, method));
    if (method == "lora-fa" && o->lora_fa_projection) enable_lora_fa_projection(trainer, *p.model);
    trainer.on_save = [&](const std::string& dir) { save_training_output(p, *ms, dir); };
    if (!o->resume.empty()) {
      trainer.load_checkpoint(o->resume);
      log_info("resumed from " + o->resume + " at step " + std::to_string(trainer.step()));
    }
    TrainSummary s = trainer.run();
    // The final result also goes to the output folder itself.
    save_training_output(p, *ms, o->out);
    nlohmann::json j{{"method", method},
                     {"trainable_parameters", ms->trainable},
                     {"total_parameters", ms->total},
                     {"steps", trainer.step()},
                     {"eval_loss_before", s.eval_loss_before},
                     {"eval_loss_after", s.eval_loss_after},
                     {"eval_perplexity_before", std::exp(s.eval_loss_before)},
                     {"eval_perplexity_after", std::exp(s.eval_loss_after)},
                     {"final_train_loss", s.final_train_loss},
                     {"tokens_per_second", s.tokens_per_second},
                     {"seconds", s.seconds},
                     {"saved_activation_bytes", s.saved_activation_bytes},
                     {"out", o->out}};
    write_file_atomic(o->out + "/summary.json", j.dump(2) + "\n");
    if (o->json) std::printf("%s\n", j.dump().c_str());
    else
      log_info("done: " + std::to_string(trainer.step()) + " steps, " + std::to_string(static_cast<long>(s.tokens_per_second)) +
               " tokens/s; output in " + o->out);
    return 0;
  };
}

PEFT_COMMAND("train", "Fine-tune a model (full, lora, lora-fa, vera, delta-lora, lora-plus)", setup);

}  // namespace
}  // namespace peft::cli
