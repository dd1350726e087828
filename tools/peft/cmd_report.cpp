// peft report: one self-contained HTML page from one or more run folders
// (src/report/): loss curves, comparison, method diagrams with the runs'
// shapes, and where each update went.
#include <cstdio>
#include <filesystem>

#include "command.h"
#include "common.h"
#include "core/error.h"
#include "core/log.h"
#include "io/atomic_file.h"
#include "report/page.h"
#include "report/run.h"
#include "train/update_size.h"

namespace peft::cli {
namespace {

namespace fs = std::filesystem;

struct Opts {
  CommonOptions common;
  std::vector<std::string> runs;
  std::string out = "report.html";
  std::string base;
  std::string title = "peft.cpp training report";
  bool no_heatmap = false;
};

// The model a run started from: --base, else the path its summary records
// (as given, then relative to the run folder's parent).
std::string base_of(const report::RunData& r, const std::string& given) {
  if (!given.empty()) return given;
  const std::string m = r.text("model");
  if (m.empty()) return "";
  std::error_code ec;
  if (fs::exists(m, ec)) return m;
  const fs::path alt = fs::path(r.dir).parent_path() / m;
  return fs::exists(alt, ec) ? alt.string() : m;
}

void add_heat(report::RunData& r, const std::string& base_given) {
  const std::string base = base_of(r, base_given);
  if (base.empty()) {
    r.heat_note = "no base model recorded (give it with --base) — no heat map";
    return;
  }
  try {
    for (const UpdateSize& u : update_sizes_of_run(r.dir, base))
      r.heat.push_back({u.layer, u.module, u.block, u.ratio()});
  } catch (const InputError& e) {
    r.heat_note = std::string("no heat map: ") + e.what();
    log_warn(r.dir + ": " + r.heat_note);
  }
}

std::function<int()> setup(CLI::App& app) {
  auto o = std::make_shared<Opts>();
  app.add_option("runs", o->runs, "Run folders written by peft train (metrics.jsonl, summary.json, the adapter or model)")
      ->required();
  app.add_option("-o,--out", o->out, "The HTML file to write");
  app.add_option("--base", o->base, "Base model for the update heat maps (default: the model each run records)");
  app.add_option("--title", o->title, "Page title");
  app.add_flag("--no-heatmap", o->no_heatmap, "Skip the update heat maps (they load the base model)");
  add_common_options(app, o->common);
  return [o]() {
    apply_common_options(o->common);
    check_file_writable(o->out, "report");
    std::vector<report::RunData> runs;
    for (const std::string& d : o->runs) runs.push_back(report::read_run(d));
    for (report::RunData& r : runs) {
      for (const std::string& n : r.notes) log_warn(n);
      if (o->no_heatmap) r.heat_note = "heat map skipped (--no-heatmap)";
      else add_heat(r, o->base);
    }
    report::PageOptions po;
    po.title = o->title;
    write_file_atomic(o->out, report::render_page(runs, po));
    std::printf("%s\n", o->out.c_str());
    return 0;
  };
}

PEFT_COMMAND("report", "Draw run folders as one HTML page: loss curves, comparison, method diagrams, update heat maps",
             setup);

}  // namespace
}  // namespace peft::cli
