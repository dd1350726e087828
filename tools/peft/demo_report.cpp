#include "demo_report.h"

#include <filesystem>

#include "core/error.h"
#include "core/log.h"
#include "io/atomic_file.h"
#include "report/page.h"
#include "report/run.h"
#include "train/run_summary.h"

namespace peft::cli {

LlamaConfig demo_model_config() {
  LlamaConfig c;
  c.vocab_size = 258;  // bytes + BOS + EOS
  c.dim = 96;
  c.hidden_dim = 256;
  c.n_layers = 3;
  c.n_heads = 6;
  c.n_kv_heads = 2;
  c.head_dim = 16;
  c.context_length = 128;
  c.norm_eps = 1e-5;
  return c;
}

void start_demo_run(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) fail("demo", "cannot write '" + dir + "': " + ec.message());
  std::filesystem::remove(std::filesystem::path(dir) / "metrics.jsonl", ec);
  std::filesystem::remove(std::filesystem::path(dir) / "summary.json", ec);
}

void write_demo_summary(const std::string& dir, const std::string& label, LlamaModel<float>& model,
                        const MethodSetup& setup, const TrainSummary& s, int64_t steps, double lora_plus_ratio,
                        const std::string& model_text, const std::string& data_text, const nlohmann::json& settings) {
  nlohmann::json j = run_summary(model, setup, s, steps, lora_plus_ratio);
  j["label"] = label;
  j["model"] = model_text;
  j["data"] = data_text;
  j["settings"] = settings;
  j["out"] = dir;
  write_file_atomic(dir + "/summary.json", j.dump(2) + "\n");
}

std::string write_demo_report(const std::string& path, const std::vector<DemoRun>& runs, const std::string& title,
                              const std::string& intro) {
  std::vector<report::RunData> data;
  for (const DemoRun& d : runs) {
    report::RunData r = report::read_run(d.dir);
    for (const UpdateSize& u : d.heat) r.heat.push_back({u.layer, u.module, u.block, u.ratio()});
    for (const std::string& n : r.notes) log_warn(n);
    data.push_back(std::move(r));
  }
  report::PageOptions po;
  po.title = title;
  po.intro = intro;
  write_file_atomic(path, report::render_page(data, po));
  return path;
}

}  // namespace peft::cli
