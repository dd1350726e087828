#include "report/comparison.h"

#include <cmath>
#include <cstdio>

#include "report/bars.h"
#include "report/svg.h"

namespace peft::report {

namespace {

std::string pct(double v) {
  if (!std::isfinite(v)) return "—";
  char b[32];
  std::snprintf(b, sizeof b, v >= 1 ? "%.1f%%" : "%.3f%%", v);
  return b;
}

std::string fixed(double v, int digits) {
  if (!std::isfinite(v)) return "—";
  char b[32];
  std::snprintf(b, sizeof b, "%.*f", digits, v);
  return b;
}

double share(const RunData& r) {
  return 100.0 * r.number("trainable_parameters") / r.number("total_parameters");
}

double memory_total(const RunData& r) {
  double t = 0;
  for (const char* p : {"weights", "gradients", "optimizer", "activations"}) t += r.memory(p);
  return t;
}

std::string swatch(const std::string& colour) {
  return "<span class=\"swatch\" style=\"background:" + colour + "\"></span>";
}

std::string setting(const nlohmann::json& s, const std::string& key) {
  if (!s.is_object() || !s.contains(key)) return "";
  const auto& v = s[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_number()) return human(v.get<double>());
  return v.dump();
}

}  // namespace

std::string comparison_table(const std::vector<RunData>& runs, const std::vector<std::string>& colours) {
  std::string h =
      "<table class=\"comparison\"><thead><tr><th>run</th><th>method</th><th>trainable parameters</th>"
      "<th>share</th><th>memory (f32)</th><th>tokens/s</th><th>steps</th><th>tokens</th>"
      "<th>eval loss before → after</th><th>final train loss</th></tr></thead><tbody>";
  for (size_t i = 0; i < runs.size(); ++i) {
    const RunData& r = runs[i];
    const double before = r.number("eval_loss_before"), after = r.number("eval_loss_after");
    h += "<tr data-run=\"" + std::to_string(i) + "\"><td>" + swatch(colours[i]) + esc(r.label) + "</td><td>" +
         esc(r.method) + "</td><td class=\"num\">" + human(r.number("trainable_parameters")) + "</td><td class=\"num\">" +
         pct(share(r)) + "</td><td class=\"num\">" + human_bytes(memory_total(r)) + "</td><td class=\"num\">" +
         human(r.number("tokens_per_second")) + "</td><td class=\"num\">" + human(r.number("steps")) +
         "</td><td class=\"num\">" + human(r.number("tokens")) + "</td><td class=\"num\">" + fixed(before, 3) + " → " +
         fixed(after, 3) + "</td><td class=\"num\">" + fixed(r.number("final_train_loss"), 3) + "</td></tr>";
  }
  return h + "</tbody></table>";
}

std::string provenance(const std::vector<RunData>& runs, const std::vector<std::string>& colours) {
  std::string h = "<div class=\"provenance\">";
  for (size_t i = 0; i < runs.size(); ++i) {
    const RunData& r = runs[i];
    h += "<div class=\"run-card\" data-run=\"" + std::to_string(i) + "\"><h3>" + swatch(colours[i]) + esc(r.label) +
         " <small>" + esc(r.method) + "</small></h3><dl>";
    auto row = [&](const std::string& k, const std::string& v) {
      if (!v.empty()) h += "<dt>" + esc(k) + "</dt><dd>" + esc(v) + "</dd>";
    };
    row("folder", r.dir);
    row("model", r.text("model"));
    row("shape", r.text("model_shape"));
    row("data", r.text("data"));
    const nlohmann::json s = r.summary.is_object() && r.summary.contains("settings") ? r.summary["settings"]
                                                                                     : nlohmann::json();
    std::string settings;
    // Rank and alpha as the adapter used them (the settings record 0 for
    // "the default").
    if (r.summary.is_object() && r.summary.contains("adapter") && r.summary["adapter"].is_object()) {
      const auto& a = r.summary["adapter"];
      settings = "rank " + setting(a, "rank") + ", alpha " + setting(a, "alpha") + ", scale " + setting(a, "scale");
    }
    for (const char* k : {"targets", "lr", "lora_plus_ratio", "delta_ratio", "steps", "batch_size",
                          "grad_accum", "seq_len", "schedule", "warmup", "weight_decay", "seed"}) {
      // Settings of other methods are recorded too; show only what applies.
      const std::string key = k;
      if (key == "lora_plus_ratio" && r.method != "lora-plus") continue;
      if (key == "delta_ratio" && r.method != "delta-lora") continue;
      if (key == "targets" && r.method == "full") continue;
      const std::string v = setting(s, key);
      if (!v.empty()) settings += (settings.empty() ? "" : ", ") + key + " " + v;
    }
    row("settings", settings);
    for (const std::string& n : r.notes) row("note", n);
    h += "</dl></div>";
  }
  return h + "</div>";
}

std::string trainable_bars(const std::vector<RunData>& runs, const std::vector<std::string>& colours) {
  std::vector<BarRow> rows;
  for (size_t i = 0; i < runs.size(); ++i) {
    BarRow row{runs[i].label, static_cast<int>(i), runs[i].method, {}, "", ""};
    const double n = runs[i].number("trainable_parameters");
    if (std::isfinite(n)) {
      row.segments.push_back({n, colours[i], "trainable"});
      row.value_text = human(n) + " (" + pct(share(runs[i])) + ")";
    }
    rows.push_back(row);
  }
  return bar_chart("trainable", "Trainable parameters", "trainable parameters (count; share of the model in brackets)", rows);
}

std::string memory_bars(const std::vector<RunData>& runs, const std::vector<std::string>& colours) {
  // The run's colour for what the method decides (gradients, optimizer
  // state), greys for what every method pays (weights, activations).
  std::vector<BarRow> rows;
  const double mib = 1024.0 * 1024.0;
  for (size_t i = 0; i < runs.size(); ++i) {
    const RunData& r = runs[i];
    BarRow row{r.label, static_cast<int>(i), r.method, {}, "", ""};
    if (std::isfinite(memory_total(r))) {
      row.segments = {{r.memory("weights") / mib, "#9a9a9a", "weights"},
                      {r.memory("gradients") / mib, colours[i], "gradients"},
                      {r.memory("optimizer") / mib, colours[i], "optimizer", 0.55},
                      {r.memory("activations") / mib, "#cfcfcf", "activations"}};
      row.value_text = human_bytes(memory_total(r));
    }
    rows.push_back(row);
  }
  return bar_chart("memory", "Memory of a training step", "MiB (f32 weights, gradients, AdamW moments, saved activations)",
                   rows, {{"weights", "#9a9a9a"}, {"gradients", "#555"}, {"optimizer state", "#aaa"},
                          {"activations", "#cfcfcf"}});
}

std::string throughput_bars(const std::vector<RunData>& runs, const std::vector<std::string>& colours) {
  std::vector<BarRow> rows;
  for (size_t i = 0; i < runs.size(); ++i) {
    BarRow row{runs[i].label, static_cast<int>(i), runs[i].method, {}, "", ""};
    const double t = runs[i].number("tokens_per_second");
    if (std::isfinite(t)) {
      row.segments.push_back({t, colours[i], "tokens_per_second"});
      row.value_text = human(t) + " tokens/s";
    }
    rows.push_back(row);
  }
  return bar_chart("throughput", "Training throughput", "input tokens per second", rows);
}

std::string eval_bars(const std::vector<RunData>& runs, const std::vector<std::string>& colours) {
  std::vector<BarRow> rows;
  for (size_t i = 0; i < runs.size(); ++i) {
    const RunData& r = runs[i];
    // Embedding runs evaluate by retrieval/STS metrics (their own bars).
    if (r.is_embedding() && !std::isfinite(r.number("eval_loss_before")) && !std::isfinite(r.number("eval_loss_after")))
      continue;
    for (const char* phase : {"before", "after"}) {
      const std::string p = phase;
      BarRow row{r.label + " · " + p, static_cast<int>(i), r.method, {}, "", ""};
      const double v = r.number("eval_loss_" + p);
      if (std::isfinite(v)) {
        row.segments.push_back({v, colours[i], p, p == "before" ? 0.35 : 1.0});
        row.value_text = fixed(v, 3);
      }
      rows.push_back(row);
    }
  }
  return bar_chart("eval-before-after", "Evaluation loss before and after training", "evaluation loss (nats/token)", rows,
                   {{"before (faint)", "#bbb"}, {"after", "#444"}});
}

}  // namespace peft::report
