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
#include "dist/communicator.h"
#include "adapters/registry.h"
#include "io/atomic_file.h"
#include "train/method.h"
#include "train/output.h"
#include "train/pretrained.h"
#include "train/run_settings.h"
#include "train/run_summary.h"
#include "train/trainer.h"
#include "train/training_data.h"
#include "train_embedding.h"

namespace peft::cli {
namespace {

// The run's settings are the library's RunSettings (train/run_settings.h);
// what only the command line has is added here.
struct Opts : RunSettings {
  std::string base_dtype = "auto";
  CommonOptions common;
  std::string resume;
  bool json = false;
  int64_t save_total_limit = 0;
  std::string save_optimizer_state = "all";
};

// The method-specific flags, as the registry names them (MethodSpec::settings),
// and the methods that read them. A flag given with another method is
// ignored, which the user is told (a warning, not an error, so one command
// line can be reused across methods).
void warn_ignored_flags(const CLI::App& app, const MethodSpec& method) {
  std::vector<std::string> flags;  // every method-specific setting, in registration order
  for (const MethodSpec* m : all_methods())
    for (const auto& f : m->settings)
      if (std::find(flags.begin(), flags.end(), f) == flags.end()) flags.push_back(f);
  for (const std::string& f : flags) {
    const CLI::Option* opt = app.get_option_no_throw("--" + f);  // null for a library-only setting
    if (!opt || opt->count() == 0 || method.uses(f)) continue;
    std::string users;
    for (const MethodSpec* m : all_methods())
      if (m->uses(f)) users += (users.empty() ? "" : ", ") + m->name;
    log_warn("--" + f + " is ignored by --method " + method.name + " (it applies to " + users + ")");
  }
}

// Everything that can be refused without the model and the data, so a bad
// command line fails in a moment instead of after the load.
void check_before_loading(const CLI::App& app, const Opts& o) {
  method_spec(o.method);  // "[train] unknown method 'x' (use one of: ...)"
  if (o.task != "llm" && o.task != "embedding") fail("train", "unknown task '" + o.task + "' (use llm or embedding)");
  if (o.task == "embedding") {
    check_embedding_flags(o);
  } else {
    for (const char* f : {"--loss", "--mini-batch-size", "--matryoshka", "--prompt", "--query-prompt", "--doc-prompt",
                          "--eval-retrieval", "--eval-sts", "--max-length", "--pooling"})
      if (app.get_option(f)->count() > 0) fail("train", std::string(f) + " applies to --task embedding only");
    if (std::filesystem::is_directory(o.data))
      fail("train", "--data '" + o.data + "' is a folder; --task llm trains on a text or JSONL file");
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
  app.add_option("-d,--data", o->data,
                 "Training data: a text file, or JSONL with text / prompt+completion / messages; --task embedding: "
                 "JSONL anchor/positive[/negative] or sentence1/sentence2/score, STS-B .csv, or a BEIR folder")
      ->required()
      ->check(CLI::ExistingPath);
  app.add_option("--task", o->task, "llm (next-token loss) or embedding (contrastive loss on text pairs)");
  app.add_option("--loss", o->loss, "Embedding loss: mnrl, cached-mnrl, cosent, cosine or triplet (default mnrl)");
  app.add_option("--mini-batch-size", o->mini_batch, "cached-mnrl: texts per embedding forward (default 32)")
      ->check(kPositive);
  app.add_option("--matryoshka", o->matryoshka, "Embedding: MatryoshkaLoss over these dimensions, e.g. 384,256,128");
  app.add_option("--prompt", o->prompt, "Embedding: prompt (name or text) for every text");
  app.add_option("--query-prompt", o->query_prompt, "Embedding: prompt for anchors / queries (default --prompt)");
  app.add_option("--doc-prompt", o->doc_prompt, "Embedding: prompt for positives, negatives and documents (default --prompt)");
  app.add_option("--eval-retrieval", o->eval_retrieval,
                 "Embedding: BEIR folder scored before, after and every --eval-every steps (qrels/test.tsv)")
      ->check(CLI::ExistingDirectory);
  app.add_option("--eval-sts", o->eval_sts, "Embedding: STS file (STS-B .csv or scored-pair JSONL) scored like --eval-retrieval")
      ->check(CLI::ExistingFile);
  app.add_option("--max-length", o->max_length, "Embedding: tokens per text (default: the model's)")->check(kPositive);
  app.add_option("--pooling", o->pooling, "Embedding: cls, mean or last instead of the model's pooling (decoders: last)");
  app.add_option("--method", o->method, "Fine-tuning method: " + method_names());
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
  app.add_option("--reduce-blocks", o->reduce_blocks,
                 "Cut each step's rows into K blocks whose gradients add up in a fixed order, so that any number "
                 "of MPI ranks (one process too) trains the same bits; 0 = off (docs/scale-out.md)")
      ->check(kNonNegative);
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
  add_base_dtype_option(app, o->base_dtype);
  add_common_options(app, o->common);
  return [o, rank_opt, &app]() {
    apply_common_options(o->common);
    check_before_loading(app, *o);
    resolve_run_defaults(*o, rank_opt->count() > 0);
    const std::string method = o->method;  // the registered name, aliases resolved
    const MethodSpec& spec = method_spec(method);
    warn_ignored_flags(app, spec);
    const AdapterConfig ac = adapter_config_of(*o);
    if (!spec.trains_base) validate_adapter_config(ac);  // rank, dropout, init, targets: before the load
    if (o->task == "embedding") {
      TrainCliExtras x;
      x.resume = o->resume;
      x.json = o->json;
      x.quiet = o->common.quiet;
      x.save_total_limit = o->save_total_limit;
      x.save_optimizer_state = o->save_optimizer_state;
      return train_embedding(*o, x);
    }

    Pretrained p = load_pretrained(o->model, parse_base_dtype(o->base_dtype));
    log_base_storage(p);
    if (o->seq_len > p.model->cfg.context_length) {
      log_warn("--seq-len " + std::to_string(o->seq_len) + " is longer than the model's context (" +
               std::to_string(p.model->cfg.context_length) + "); using " + std::to_string(p.model->cfg.context_length));
      o->seq_len = p.model->cfg.context_length;
    }

    DataOptions dopt = data_options_of(*o);
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

    TrainOptions to = train_options_of(*o, data.train->rows_per_epoch());
    to.save_total_limit = o->save_total_limit;
    to.resume_state = parse_resume_state(o->save_optimizer_state);
    to.log_every = o->log_every;
    to.out_dir = o->out;
    to.progress = !o->common.quiet;

    Trainer trainer(*p.model, *data.train, data.eval.get(), to, run_record(*o));
    trainer.on_save = [&](const std::string& dir) { save_training_output(p, *ms, dir); };
    if (!o->resume.empty()) {
      trainer.load_checkpoint(o->resume);
      log_info("resumed from " + o->resume + " at step " + std::to_string(trainer.step()));
    }
    TrainSummary s = trainer.run();
    // Data-parallel (mpirun): every rank holds the same result; rank 0 writes it.
    if (!world().is_root()) return 0;
    // The final result also goes to the output folder itself.
    save_training_output(p, *ms, o->out);
    // What `peft report` draws the run from (train/run_summary.h), with the
    // model, data and settings that produced it.
    nlohmann::json j = run_summary(*p.model, *ms, s, trainer.step(), to.opt.lora_plus_ratio);
    j["model"] = o->model;
    j["data"] = o->data;
    j["settings"] = run_record(*o);
    j["out"] = o->out;
    // Data-parallel runs: the ranks, rank 0's seconds in the gradient sum, the bytes summed per step.
    j["ranks"] = s.ranks;
    j["communication_seconds"] = s.communication_seconds;
    j["allreduce_bytes_per_step"] = s.allreduce_floats_per_step * 4;
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
