// A run folder as the report sees it: what `peft train` (or `peft demo`)
// left in it — metrics.jsonl (one JSON object a line: training steps with
// loss, lr, tokens...; evaluations with eval_loss), summary.json (written at
// the end: parameter counts, memory, speed, evaluation before/after, the
// model, data and settings, the shapes of the trained layers) and, for
// adapter runs, adapter_config.json; embedding runs (peft train --task
// embedding) also embedding_eval.json (report/embedding_eval.h) and
// evaluations of retrieval/STS metrics instead of eval_loss.
//
// A run cut short has metrics.jsonl but no summary.json, and possibly a last
// line half written: what can be read is kept and what was skipped is said
// in `notes`, never silently dropped.
#pragma once
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "report/embedding_eval.h"

namespace peft::report {

struct CurvePoint {
  double step = 0;
  double tokens = -1;  // input tokens seen by then; -1 when unknown
  double value = 0;
};

struct TensorShape {
  std::string name;   // lora_A, lora_B, vera_lambda_d, weight, ...
  std::vector<int64_t> shape;
  std::string group;  // the optimizer group: lora_A, lora_B, vera_lambda, base, ...
};

struct LayerShape {
  std::string name, module;  // "blk.0.attn_q", "q"
  int64_t out = 0, in = 0;
  std::vector<TensorShape> trainable;
};

// ‖ΔW‖_F / ‖W‖_F of one linear layer (computed by the caller from the saved
// adapter and its base: train/update_size.h).
struct HeatCell {
  std::string layer, module;
  int64_t block = -1;
  double ratio = 0;
};

struct RunData {
  std::string dir;
  std::string label;   // the folder's name, or the label summary.json gives
  std::string method;  // "lora", "full", ... ("unknown" when nothing says)
  std::vector<CurvePoint> train, eval;
  // Embedding runs: each evaluation metric by step (from metrics.jsonl),
  // the metrics before/after, and embedding_eval.json.
  std::map<std::string, std::vector<CurvePoint>> metric_curves;
  std::vector<EvalMetric> metrics;
  EmbeddingEval embedding;
  nlohmann::json summary;  // object, or null without summary.json
  std::vector<LayerShape> layers;  // from summary.json
  std::vector<HeatCell> heat;
  std::string heat_note;           // why there is no heat map, when there is none
  std::vector<std::string> notes;  // what was skipped while reading

  // A number from summary.json, NaN when absent or null.
  double number(const std::string& key) const;
  double memory(const std::string& part) const;  // summary memory_bytes.<part>
  std::string text(const std::string& key) const;  // "" when absent
  // An embedding run: summary.json says task "embedding", or the folder has
  // embedding_eval.json or retrieval/STS evaluations.
  bool is_embedding() const;
};

// Reads one run folder. Throws InputError "[report] ..." (one line) when the
// folder does not exist or holds neither metrics.jsonl nor summary.json.
RunData read_run(const std::string& dir);

}  // namespace peft::report
