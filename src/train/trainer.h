// The training loop: batches from a DataSource, forward/backward with
// gradient accumulation, AdamW with parameter groups and a schedule,
// evaluation, metrics (JSONL), checkpoints and exact resume.
//
// Determinism: the same seed, data and thread count give bit-identical losses
// and parameters. A checkpoint holds the trainable tensors, the optimizer
// moments, the step, the data position with its RNG state, and the run
// configuration; resuming from it continues exactly as the uninterrupted run.
#pragma once
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/data_source.h"
#include "model/llama.h"
#include "train/optimizer.h"
#include "train/schedule.h"

namespace peft {

struct TrainOptions {
  int64_t steps = 100;  // optimizer steps in total
  int64_t batch_size = 8;
  int64_t grad_accum = 1;
  double lr = 1e-3;
  Schedule schedule = Schedule::Constant;
  int64_t warmup = 0;
  OptimizerConfig opt;  // lr inside is ignored; `lr` above with the schedule sets it
  int64_t eval_every = 0;    // 0 = only before and after
  int64_t eval_windows = 0;  // 0 = all evaluation windows
  int64_t save_every = 0;    // 0 = only at the end
  int64_t log_every = 10;    // plain progress lines when stderr is not a terminal
  std::string out_dir;       // metrics.jsonl and checkpoints go here
  bool progress = true;
};

struct StepRecord {
  int64_t step = 0;
  double loss = 0;  // mean over the step's scored tokens
  double lr = 0;
  double grad_norm = 0;
  double tokens_per_second = 0;
  double elapsed = 0;  // seconds since the run (or resume) started
  double eta = 0;
};

struct TrainSummary {
  double eval_loss_before = 0, eval_loss_after = 0;
  int64_t steps = 0;
  int64_t tokens = 0;  // input tokens processed in this run
  double seconds = 0;
  double tokens_per_second = 0;
  double final_train_loss = 0;
  int64_t saved_activation_bytes = 0;  // per micro-batch, measured
};

class Trainer {
 public:
  Trainer(LlamaModel<float>& model, DataSource& train, const DataSource* eval, const TrainOptions& o,
          nlohmann::json run_config);

  // Mean NLL over the evaluation windows (NaN when there is no eval data).
  double evaluate();
  // Trains from the current step to opts.steps. Writes a checkpoint every
  // save_every steps and at the end (when out_dir is set).
  TrainSummary run();

  // Writes `dir` (created, replaced atomically through a temporary name).
  void save_checkpoint(const std::string& dir);
  // Restores a checkpoint written by save_checkpoint. Refuses one whose run
  // configuration differs (other than steps and logging/saving cadence).
  void load_checkpoint(const std::string& dir);

  int64_t step() const { return step_; }
  AdamW& optimizer() { return *opt_; }
  const std::vector<double>& losses() const { return losses_; }
  // Called with every step's record (the CLI uses it for nothing; tests read losses()).
  std::function<void(const StepRecord&)> on_step;
  // Called after backward, before each optimizer step (gradient transforms
  // such as LoRA-FA's projection).
  std::function<void()> before_step;
  // Called after each checkpoint is written with its directory, so the caller
  // can add its own files (the adapter in PEFT format, the merged model).
  std::function<void(const std::string& dir)> on_save;

 private:
  void write_metrics(const nlohmann::json& j);
  void print_progress(const StepRecord& r, bool final_line);

  LlamaModel<float>& model_;
  DataSource& train_;
  const DataSource* eval_;
  TrainOptions o_;
  nlohmann::json run_config_;
  std::vector<ParamRef<float>> params_;
  std::unique_ptr<AdamW> opt_;
  int64_t step_ = 0;
  std::vector<double> losses_;
};

}  // namespace peft
