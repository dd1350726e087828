// The settings of one fine-tuning run, as `peft train` takes them, and what
// a library user needs around them: the method's defaults, epochs turned
// into steps, and the record a checkpoint keeps so that a resume with other
// settings is refused by name.
//
// A checkpoint stores run_record(settings). Resuming compares the record of
// the new run with the saved one key by key (check_resume_settings); every
// key must match except the few in settings_free_on_resume(), which only
// decide how long the run goes and how often it reports or saves.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "adapters/factory.h"
#include "train/trainer.h"
#include "train/training_data.h"

namespace peft {

struct RunSettings {
  // What is trained on what.
  std::string model, data, eval_data, method = "lora", out;
  // Adapter settings (adapters/factory.h, AdapterConfig); which of them a
  // method reads is in its MethodSpec::settings.
  std::string targets, target_regex, init = "kaiming";
  int rank = 8;
  double alpha = 0;  // 0 = same as rank
  double dropout = 0, lora_plus_ratio = 16, vera_d_initial = 0.1, delta_ratio = 2;
  int64_t delta_start = 0;
  uint64_t vera_seed = 0;
  bool rslora = false, lora_fa_projection = false, grad_checkpoint = false;
  // Optimization and data.
  std::string schedule = "constant", sampling;  // sampling "" = random with steps, epochs with epochs
  int64_t steps = 0, epochs = 0, batch_size = 8, grad_accum = 1, seq_len = 256, warmup = 0;
  double lr = 0, weight_decay = 0, max_grad_norm = 1.0, eval_split = 0.1;  // lr 0 = the method's default
  int64_t eval_every = 0, save_every = 0, eval_windows = 0, log_every = 10;
  int64_t reduce_blocks = 0;  // TrainOptions::reduce_blocks
  uint64_t seed = 0;
  // Fields of data records (JSONL).
  std::string prompt_field, completion_field, text_field, chat_template;
  bool train_on_prompt = false;
  // What is trained: "llm" (next-token loss on text) or "embedding"
  // (contrastive loss on text tuples, embed/embedding_task.h).
  std::string task = "llm";
  // Embedding training (task "embedding" only).
  std::string loss = "mnrl", matryoshka, prompt, query_prompt, doc_prompt, eval_retrieval, eval_sts, pooling;
  int64_t mini_batch = 32, max_length = 0;
};

// Resolves an alias to the method's name and fills what was left unset: lr (0) and, unless `rank_given`, the rank from
// the method's registered defaults; 100 steps when neither steps nor epochs
// is set; the sampling that goes with them. Throws "[train] ..." for an
// unknown method or sampling.
void resolve_run_defaults(RunSettings& s, bool rank_given);

// Optimizer steps for `epochs` passes over `rows_per_epoch` training rows
// (windows) at batch_size · grad_accum rows per step, rounded up, at least 1.
int64_t steps_for_epochs(int64_t rows_per_epoch, int64_t epochs, int64_t batch_size, int64_t grad_accum);

// The pieces the library's parts take, from resolved settings:
// the adapter configuration (alpha 0 → the rank; targets parsed), the data
// options (without the model's own chat template, which the caller adds from
// the loaded model), and the trainer options for a training source of
// `rows_per_epoch` rows (epochs → steps; LoRA+'s ratio only for a method
// that reads it). Output and progress fields of TrainOptions are the
// caller's.
AdapterConfig adapter_config_of(const RunSettings& s);
DataOptions data_options_of(const RunSettings& s);
TrainOptions train_options_of(const RunSettings& s, int64_t rows_per_epoch);

// The run's record in a checkpoint (trainer_state.json "run_config"); the
// embedding settings are in it only for task "embedding", so records of
// language-model runs are as before.
nlohmann::json run_record(const RunSettings& s);

// The record keys a resumed run may change.
const std::vector<std::string>& settings_free_on_resume();

// Throws "[train] cannot resume from 'DIR': 'KEY' was X, now Y" for the first
// key of `now` (other than the free ones) that `saved` lacks or holds with
// another value.
void check_resume_settings(const nlohmann::json& saved, const nlohmann::json& now, const std::string& dir);

}  // namespace peft
