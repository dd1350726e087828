// The run folders and the report page of `peft demo` (and of its
// pre-training experiment): each run trained in the demo gets a folder as
// `peft train` would write it (metrics.jsonl from the trainer, summary.json
// here), and the page is drawn from those folders, with the update heat maps
// computed from the models still in memory.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "model/llama.h"
#include "train/method.h"
#include "train/trainer.h"
#include "train/update_size.h"

namespace peft::cli {

// The demo's model: a small Llama (byte vocabulary, 3 layers of width 96).
LlamaConfig demo_model_config();

struct DemoRun {
  std::string dir;
  std::vector<UpdateSize> heat;
};

// Prepares `dir` for a run: created, an old metrics.jsonl removed (the
// trainer appends).
void start_demo_run(const std::string& dir);
// Writes dir/summary.json: run_summary() plus a label, the model, data and
// settings in words.
void write_demo_summary(const std::string& dir, const std::string& label, LlamaModel<float>& model,
                        const MethodSetup& setup, const TrainSummary& s, int64_t steps, double lora_plus_ratio,
                        const std::string& model_text, const std::string& data_text, const nlohmann::json& settings);
// Draws the runs into `path`; returns the path.
std::string write_demo_report(const std::string& path, const std::vector<DemoRun>& runs, const std::string& title,
                              const std::string& intro);

}  // namespace peft::cli
