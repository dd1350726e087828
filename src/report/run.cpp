#include "report/run.h"

#include <cmath>
#include <filesystem>
#include <sstream>

#include "core/error.h"
#include "io/atomic_file.h"

namespace peft::report {

namespace fs = std::filesystem;

double RunData::number(const std::string& key) const {
  if (!summary.is_object()) return std::nan("");
  auto it = summary.find(key);
  return it != summary.end() && it->is_number() ? it->get<double>() : std::nan("");
}

double RunData::memory(const std::string& part) const {
  if (!summary.is_object() || !summary.contains("memory_bytes") || !summary["memory_bytes"].is_object())
    return std::nan("");
  const auto& m = summary["memory_bytes"];
  return m.contains(part) && m[part].is_number() ? m[part].get<double>() : std::nan("");
}

std::string RunData::text(const std::string& key) const {
  if (!summary.is_object()) return "";
  auto it = summary.find(key);
  return it != summary.end() && it->is_string() ? it->get<std::string>() : "";
}

bool RunData::is_embedding() const {
  return text("task") == "embedding" || embedding.present || !metrics.empty();
}

namespace {

double finite_or_nan(const nlohmann::json& v) {
  return v.is_number() && std::isfinite(v.get<double>()) ? v.get<double>() : std::nan("");
}

void read_metrics(const fs::path& path, RunData& r) {
  std::istringstream in(read_file_bytes(path.string()));
  std::string line;
  int64_t line_no = 0, bad = 0, first_bad = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty()) continue;
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_object() || !j.contains("step") || !j["step"].is_number()) {
      if (bad++ == 0) first_bad = line_no;
      continue;
    }
    CurvePoint p;
    p.step = j["step"].get<double>();
    if (j.contains("tokens") && j["tokens"].is_number()) p.tokens = j["tokens"].get<double>();
    if (j.contains("loss")) {
      p.value = finite_or_nan(j["loss"]);
      if (std::isfinite(p.value)) r.train.push_back(p);
    } else if (j.contains("eval_loss")) {
      p.value = finite_or_nan(j["eval_loss"]);
      if (std::isfinite(p.value)) r.eval.push_back(p);
    } else {
      for (const std::string& k : known_eval_metrics()) {
        if (!j.contains(k)) continue;
        p.value = finite_or_nan(j[k]);
        if (std::isfinite(p.value)) r.metric_curves[k].push_back(p);
      }
    }
  }
  if (bad > 0)
    r.notes.push_back("skipped " + std::to_string(bad) + " unreadable line" + (bad > 1 ? "s" : "") + " of " +
                      path.string() + " (first: line " + std::to_string(first_bad) + ")");
  // A resumed run appends to the same file: keep the last record of each
  // step, in step order.
  auto dedup = [](std::vector<CurvePoint>& v) {
    std::vector<CurvePoint> out;
    for (const CurvePoint& p : v) {
      while (!out.empty() && out.back().step >= p.step) out.pop_back();
      out.push_back(p);
    }
    v = out;
  };
  dedup(r.train);
  dedup(r.eval);
  for (auto& [k, v] : r.metric_curves) dedup(v);
  // Tokens per step from the training records, for evaluations (which do
  // not record tokens) and for older runs without a tokens field.
  double per_step = -1;
  for (const CurvePoint& p : r.train)
    if (p.tokens > 0 && p.step > 0) per_step = p.tokens / p.step;
  if (per_step < 0 && r.summary.is_object()) {
    const double t = r.number("tokens"), s = r.number("steps");
    if (std::isfinite(t) && std::isfinite(s) && s > 0) per_step = t / s;
  }
  if (per_step > 0) {
    for (CurvePoint& p : r.train)
      if (p.tokens < 0) p.tokens = p.step * per_step;
    for (CurvePoint& p : r.eval) p.tokens = p.step * per_step;
    for (auto& [k, v] : r.metric_curves)
      for (CurvePoint& p : v) p.tokens = p.step * per_step;
  }
}

void read_layers(RunData& r) {
  if (!r.summary.is_object() || !r.summary.contains("layers") || !r.summary["layers"].is_array()) return;
  for (const auto& l : r.summary["layers"]) {
    if (!l.is_object()) continue;
    LayerShape s;
    s.name = l.value("name", "");
    s.module = l.value("module", "");
    s.out = l.value("out", int64_t{0});
    s.in = l.value("in", int64_t{0});
    if (l.contains("trainable") && l["trainable"].is_array())
      for (const auto& t : l["trainable"]) {
        if (!t.is_object()) continue;
        TensorShape ts;
        ts.name = t.value("name", "");
        ts.group = t.value("group", "");
        if (t.contains("shape") && t["shape"].is_array())
          for (const auto& d : t["shape"])
            if (d.is_number_integer()) ts.shape.push_back(d.get<int64_t>());
        s.trainable.push_back(ts);
      }
    r.layers.push_back(s);
  }
}

// Before/after of each evaluation metric: summary.json's eval_before /
// eval_after objects (or <key>_before / <key>_after numbers); else the first
// and last evaluation in metrics.jsonl (the first is taken as "before" only
// when it is at step 0).
void read_eval_metrics(RunData& r) {
  auto from = [&](const char* obj, const std::string& key) {
    if (r.summary.is_object() && r.summary.contains(obj) && r.summary[obj].is_object() &&
        r.summary[obj].contains(key))
      return finite_or_nan(r.summary[obj][key]);
    return std::nan("");
  };
  for (const std::string& k : known_eval_metrics()) {
    EvalMetric m{k};
    m.before = from("eval_before", k);
    m.after = from("eval_after", k);
    if (!std::isfinite(m.before)) m.before = r.number(k + "_before");
    if (!std::isfinite(m.after)) m.after = r.number(k + "_after");
    auto it = r.metric_curves.find(k);
    if (it != r.metric_curves.end() && !it->second.empty()) {
      if (!std::isfinite(m.before) && it->second.front().step == 0) m.before = it->second.front().value;
      if (!std::isfinite(m.after) && it->second.back().step > 0) m.after = it->second.back().value;
    }
    if (std::isfinite(m.before) || std::isfinite(m.after)) r.metrics.push_back(m);
  }
}

}  // namespace

RunData read_run(const std::string& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) fail("report", "'" + dir + "' does not exist");
  if (!fs::is_directory(dir, ec)) fail("report", "'" + dir + "' is not a folder (give a run folder that peft train wrote)");
  const fs::path metrics = fs::path(dir) / "metrics.jsonl", summary = fs::path(dir) / "summary.json";
  const bool has_metrics = fs::is_regular_file(metrics, ec), has_summary = fs::is_regular_file(summary, ec);
  if (!has_metrics && !has_summary)
    fail("report", "'" + dir + "' is not a run folder (no metrics.jsonl or summary.json)");
  RunData r;
  r.dir = dir;
  std::string name = fs::path(dir).lexically_normal().filename().string();
  if (name.empty() || name == ".") name = fs::absolute(dir, ec).lexically_normal().parent_path().filename().string();
  r.label = name;
  if (has_summary) {
    r.summary = nlohmann::json::parse(read_file_bytes(summary.string()), nullptr, false);
    if (!r.summary.is_object()) {
      r.notes.push_back("skipped " + summary.string() + " (not a JSON object)");
      r.summary = nullptr;
    }
  } else {
    r.notes.push_back("no summary.json in " + dir + " (the run did not finish): curves only");
  }
  if (has_metrics) read_metrics(metrics, r);
  else r.notes.push_back("no metrics.jsonl in " + dir + ": no curves");
  if (!r.text("label").empty()) r.label = r.text("label");
  r.method = r.text("method");
  // What produced the run, when summary.json does not say (an unfinished
  // run, or a summary without model/data/settings): the run record a
  // checkpoint keeps, then the adapter's base model.
  if (r.method.empty() || r.text("model").empty() || !r.summary.is_object() || !r.summary.contains("settings")) {
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      const fs::path st = e.path() / "trainer_state.json";
      if (!fs::is_regular_file(st, ec)) continue;
      const nlohmann::json j = nlohmann::json::parse(read_file_bytes(st.string()), nullptr, false);
      if (!j.is_object() || !j.contains("run_config") || !j["run_config"].is_object()) continue;
      const nlohmann::json& rc = j["run_config"];
      if (r.method.empty()) r.method = rc.value("method", "");
      if (!r.summary.is_object()) r.summary = nlohmann::json::object();
      for (const char* k : {"model", "data"})
        if (!r.summary.contains(k) && rc.contains(k) && rc[k].is_string()) r.summary[k] = rc[k];
      if (!r.summary.contains("settings")) r.summary["settings"] = rc;
      break;
    }
  }
  if (r.text("model").empty()) {
    const fs::path ac = fs::path(dir) / "adapter_config.json";
    if (fs::is_regular_file(ac, ec)) {
      const nlohmann::json j = nlohmann::json::parse(read_file_bytes(ac.string()), nullptr, false);
      if (j.is_object() && j.contains("base_model_name_or_path") && j["base_model_name_or_path"].is_string() &&
          !j["base_model_name_or_path"].get<std::string>().empty()) {
        if (!r.summary.is_object()) r.summary = nlohmann::json::object();
        r.summary["model"] = j["base_model_name_or_path"];
      }
    }
  }
  if (r.method.empty()) r.method = "unknown";
  read_layers(r);
  read_eval_metrics(r);
  const fs::path emb = fs::path(dir) / "embedding_eval.json";
  if (fs::is_regular_file(emb, ec)) r.embedding = read_embedding_eval(emb.string(), r.notes);
  return r;
}

}  // namespace peft::report
