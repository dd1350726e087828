// The training loop: micro-batches from a TrainTask (train/train_task.h: a
// language model on token batches, an embedder on text pairs), forward/
// backward with gradient accumulation, AdamW with parameter groups and a schedule,
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
#include "dist/communicator.h"
#include "model/llama.h"
#include "train/llm_task.h"
#include "train/train_task.h"
#include "train/optimizer.h"
#include "train/schedule.h"

namespace peft {

class DataParallel;

// Which checkpoints hold what a resume needs (the trainable tensors, the
// optimizer moments, Delta-LoRA's base and anchors). Without it a checkpoint
// is a snapshot: its trainer_state.json and what on_save adds (the adapter or
// the model), which is all one needs to use the weights of that step.
enum class ResumeState {
  All,           // every checkpoint can be resumed, the final one too (to train on)
  Intermediate,  // all but the final one; out_dir itself holds the final weights
  None,          // no checkpoint can be resumed
};
ResumeState parse_resume_state(const std::string& name);  // all, intermediate, none; throws "[train] ..."

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
  // Keep at most this many checkpoint-N folders in out_dir, the newest by
  // step; older ones are deleted after each new one is complete. 0 = keep all.
  int64_t save_total_limit = 0;
  // With Intermediate or None, the final step gets no checkpoint folder: it
  // would repeat the output the caller writes to out_dir.
  ResumeState resume_state = ResumeState::All;
  // The step's rows cut into this many blocks whose gradients are added in a
  // fixed tree (train/data_parallel.h): the same bits for any number of
  // ranks, one process included. 0 = off (one pass over the rank's rows).
  int64_t reduce_blocks = 0;
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
  double texts_per_second = 0;  // embedding tasks (TrainTask::step_texts); 0 otherwise
  double elapsed = 0;  // seconds since the run (or resume) started
  double eta = 0;
};

struct TrainSummary {
  double eval_loss_before = 0, eval_loss_after = 0;  // NaN unless the task reports eval_loss
  EvalMetrics eval_before, eval_after;  // everything the task's evaluation reported
  int64_t steps = 0;
  int64_t tokens = 0;  // input tokens processed in this run
  int64_t texts = 0;   // texts embedded in this run (embedding tasks; 0 otherwise)
  double texts_per_second = 0;
  double seconds = 0;
  double tokens_per_second = 0;
  double final_train_loss = 0;
  int64_t saved_activation_bytes = 0;  // per micro-batch, measured
  // Data-parallel runs (train/data_parallel.h): the ranks, the seconds this
  // rank spent summing gradients over them, and the numbers summed per step.
  int ranks = 1;
  double communication_seconds = 0;
  int64_t allreduce_floats_per_step = 0;
};

class Trainer {
 public:
  // A language model on token batches (an LlmTask the trainer owns).
  Trainer(LlamaModel<float>& model, DataSource& train, const DataSource* eval, const TrainOptions& o,
          nlohmann::json run_config);
  // Any task; it must outlive the trainer.
  Trainer(TrainTask& task, const TrainOptions& o, nlohmann::json run_config);

  // The task's evaluation (empty when it has no evaluation data).
  EvalMetrics evaluate_metrics();
  // Its "eval_loss" (the LLM task's mean NLL over the evaluation windows);
  // NaN when there is none.
  double evaluate();
  // Trains from the current step to opts.steps. Writes a checkpoint every
  // save_every steps and at the end (when out_dir is set).
  TrainSummary run();

  // Writes `dir` (created, replaced atomically through a temporary name; a
  // failed save leaves no partial folder). `resumable`: with the state a
  // resume needs (ResumeState above), else a snapshot.
  void save_checkpoint(const std::string& dir, bool resumable = true);
  // Restores a checkpoint written by save_checkpoint. Refuses one whose run
  // configuration differs (other than steps and logging/saving cadence:
  // check_resume_settings, run_settings.h), and a snapshot.
  void load_checkpoint(const std::string& dir);

  // The processes that train together (dist/communicator.h); world() unless
  // set before run(). With several ranks, each runs its share of every global
  // batch (train/data_parallel.h) and rank 0 alone writes metrics, progress
  // and checkpoints.
  void set_communicator(Communicator& comm) { comm_ = &comm; }

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
  // Step checkpoint at the current step, then the save_total_limit pruning.
  void save_step_checkpoint(bool final_step, DataParallel& dp);
  // Throws "[dist] ..." unless every rank holds the state rank 0 would save.
  void verify_ranks_in_sync(DataParallel& dp);
  void write_checkpoint_files(const std::string& tmp, bool resumable);
  void prune_checkpoints(const std::string& keep);
  void print_progress(const StepRecord& r, bool final_line);
  void report_eval(const EvalMetrics& m, const std::string& when);
  void init();  // checks the options, collects the trainable tensors, makes the optimizer

  std::unique_ptr<LlmTask> own_task_;  // set by the LlamaModel constructor
  TrainTask& task_;
  TrainOptions o_;
  nlohmann::json run_config_;
  std::vector<ParamRef<float>> params_;
  std::unique_ptr<AdamW> opt_;
  Communicator* comm_ = &world();
  int64_t step_ = 0;
  std::vector<double> losses_;
  std::string resume_hint_ = "no checkpoint was written yet";  // for a stopped job's message
};

}  // namespace peft
