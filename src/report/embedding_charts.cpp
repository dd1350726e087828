#include "report/embedding_charts.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "report/bars.h"
#include "report/pca.h"
#include "report/svg.h"

namespace peft::report {

namespace {

constexpr const char* kNegative = "#8c8c8c";  // negatives in every run: grey

std::string fixed(double v, int digits) {
  if (!std::isfinite(v)) return "—";
  char b[32];
  std::snprintf(b, sizeof b, "%.*f", digits, v);
  return b;
}

double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? std::nan("") : s / static_cast<double>(v.size());
}

std::string tag(const RunData& r, int index) {
  return "data-run=\"" + std::to_string(index) + "\" data-method=\"" + esc(r.method) + "\"";
}

// Two frames side by side sharing the data ranges.
std::pair<Frame, Frame> panels(double w, double h) {
  Frame a;
  a.left = 64;
  a.top = 30;
  a.width = w;
  a.height = h;
  Frame b = a;
  b.left = a.left + w + 56;
  return {a, b};
}

}  // namespace

std::vector<double> cosine_bin_edges(const RunData& run, int bins) {
  double lo = INFINITY, hi = -INFINITY;
  for (const EmbeddingPhase* p : {&run.embedding.before, &run.embedding.after})
    for (const auto* v : {&p->positive_cos, &p->negative_cos})
      for (double c : *v)
        if (std::isfinite(c)) {
          lo = std::min(lo, c);
          hi = std::max(hi, c);
        }
  if (!std::isfinite(lo)) lo = -1, hi = 1;
  lo = std::floor(lo / 0.05 - 1e-9) * 0.05;
  hi = std::ceil(hi / 0.05 + 1e-9) * 0.05;
  if (hi <= lo) hi = lo + 0.05;
  std::vector<double> e;
  for (int k = 0; k <= bins; ++k) e.push_back(lo + (hi - lo) * k / bins);
  return e;
}

std::string cosine_histograms(const RunData& run, int index, const std::string& colour) {
  const int bins = 30;
  const std::vector<double> edges = cosine_bin_edges(run, bins);
  auto [fa, fb] = panels(300, 190);
  Svg s(fb.left + fb.width + 20, fa.top + fa.height + 64, "cosine-histogram",
        "Cosine similarity of positive and negative pairs before and after: " + run.label);
  // Counts per bin, and the largest share of a series' pairs in one bin
  // (the shared y axis: the share, so a few positives and many negatives
  // compare).
  auto counts = [&](const std::vector<double>& v) {
    std::vector<int64_t> c(bins, 0);
    for (double x : v) {
      if (!std::isfinite(x)) continue;
      int k = static_cast<int>((x - edges.front()) / (edges.back() - edges.front()) * bins);
      c[std::clamp(k, 0, bins - 1)]++;
    }
    return c;
  };
  double ymax = 0;
  const EmbeddingPhase* phases[2] = {&run.embedding.before, &run.embedding.after};
  for (const EmbeddingPhase* p : phases)
    for (const auto* v : {&p->positive_cos, &p->negative_cos}) {
      if (v->empty()) continue;
      for (int64_t c : counts(*v)) ymax = std::max(ymax, 100.0 * static_cast<double>(c) / static_cast<double>(v->size()));
    }
  if (ymax <= 0) ymax = 1;
  const auto yt = nice_ticks(0, ymax, 4);
  if (!yt.empty()) ymax = std::max(ymax, yt.back());
  const char* names[2] = {"before", "after"};
  for (int ph = 0; ph < 2; ++ph) {
    Frame f = ph == 0 ? fa : fb;
    f.x_lo = edges.front();
    f.x_hi = edges.back();
    f.y_lo = 0;
    f.y_hi = ymax;
    s.axes(f, "cosine similarity", ph == 0 ? "share of pairs (%)" : "");
    const EmbeddingPhase& p = *phases[ph];
    s.text(f.left + f.width / 2, f.top - 12, names[ph] == std::string("before") ? "before training" : "after training",
           "middle", "class=\"blocklabel\"");
    if (p.positive_cos.empty() && p.negative_cos.empty()) {
      s.text(f.left + f.width / 2, f.top + f.height / 2, "not recorded", "middle", "class=\"empty\"");
      continue;
    }
    // Negatives first (behind), positives over them.
    for (int pos = 0; pos < 2; ++pos) {
      const std::vector<double>& v = pos ? p.positive_cos : p.negative_cos;
      if (v.empty()) continue;
      const std::string fill = pos ? colour : kNegative;
      const std::vector<int64_t> c = counts(v);
      for (int k = 0; k < bins; ++k) {
        const double share = 100.0 * static_cast<double>(c[k]) / static_cast<double>(v.size());
        const double x0 = f.px(edges[k]), x1 = f.px(edges[k + 1]);
        s.raw("<rect class=\"hist-bar\" x=\"" + coord(x0) + "\" y=\"" + coord(f.py(share)) + "\" width=\"" +
              coord(std::max(0.0, x1 - x0 - 0.5)) + "\" height=\"" + coord(f.py(0) - f.py(share)) + "\" fill=\"" + fill +
              "\" fill-opacity=\"" + (pos ? "0.6" : "0.45") + "\" " + tag(run, index) + " data-phase=\"" + names[ph] +
              "\" data-pairs=\"" + (pos ? "positive" : "negative") + "\" data-count=\"" + std::to_string(c[k]) +
              "\"><title>" + (pos ? "positive" : "negative") + " pairs in [" + fixed(edges[k], 2) + ", " +
              fixed(edges[k + 1], 2) + "): " + std::to_string(c[k]) + "</title></rect>");
      }
      // The mean as a dashed line: the gap between the two is what training widens.
      const double m = mean(v);
      s.line(f.px(m), f.top, f.px(m), f.top + f.height, pos ? colour : "#555",
             "stroke-dasharray=\"4 3\" stroke-width=\"1.5\" class=\"mean\"");
      s.text(f.left + 6, f.top + 14 + 14 * (1 - pos),
             std::string(pos ? "positive" : "negative") + " (" + std::to_string(v.size()) + "): mean " + fixed(m, 3),
             "start", std::string("class=\"tick\" fill=\"") + (pos ? colour : "#555") + "\"");
    }
  }
  // The legend under the panels.
  const double ly = fa.top + fa.height + 52;
  s.rect(fa.left, ly - 9, 10, 10, colour, "fill-opacity=\"0.6\"");
  s.text(fa.left + 14, ly, "positive pairs (query, relevant document)", "start", "class=\"tick\"");
  s.rect(fb.left, ly - 9, 10, 10, kNegative, "fill-opacity=\"0.45\"");
  s.text(fb.left + 14, ly, "negative pairs", "start", "class=\"tick\"");
  return s.str();
}

std::string pca_scatter(const RunData& run, int index, const std::string& colour) {
  auto [fa, fb] = panels(300, 240);
  Svg s(fb.left + fb.width + 20, fa.top + fa.height + 64, "pca",
        "Query and document embeddings on one PCA plane, before and after: " + run.label);
  const EmbeddingPhase* phases[2] = {&run.embedding.before, &run.embedding.after};
  std::vector<const std::vector<float>*> all;
  for (const EmbeddingPhase* p : phases)
    for (const auto* vs : {&p->queries, &p->documents})
      for (const auto& v : *vs) all.push_back(&v);
  if (all.empty()) {
    s.text(fa.left + fa.width, fa.top + fa.height / 2, "no embeddings recorded for this run", "middle", "class=\"empty\"");
    return s.str();
  }
  const Pca2 pca = fit_pca2(all);
  double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
  std::vector<std::array<double, 2>> xy;
  for (const auto* v : all) {
    xy.push_back(pca.project(*v));
    xlo = std::min(xlo, xy.back()[0]);
    xhi = std::max(xhi, xy.back()[0]);
    ylo = std::min(ylo, xy.back()[1]);
    yhi = std::max(yhi, xy.back()[1]);
  }
  const double px = std::max(1e-6, (xhi - xlo) * 0.06), py = std::max(1e-6, (yhi - ylo) * 0.06);
  auto share = [&](int c) { return pca.total_variance > 0 ? 100.0 * pca.variance[c] / pca.total_variance : 0.0; };
  const char* names[2] = {"before", "after"};
  size_t at = 0;
  for (int ph = 0; ph < 2; ++ph) {
    Frame f = ph == 0 ? fa : fb;
    f.x_lo = xlo - px;
    f.x_hi = xhi + px;
    f.y_lo = ylo - py;
    f.y_hi = yhi + py;
    s.axes(f, "PC 1 (" + fixed(share(0), 1) + "% of variance)", ph == 0 ? "PC 2 (" + fixed(share(1), 1) + "% of variance)" : "");
    s.text(f.left + f.width / 2, f.top - 12, ph == 0 ? "before training" : "after training", "middle", "class=\"blocklabel\"");
    const EmbeddingPhase& p = *phases[ph];
    if (p.queries.empty() && p.documents.empty())
      s.text(f.left + f.width / 2, f.top + f.height / 2, "not recorded", "middle", "class=\"empty\"");
    // Documents first (hollow squares), queries over them (filled dots).
    // `all` holds each phase's queries then documents.
    const size_t nq = p.queries.size(), nd = p.documents.size();
    for (size_t k = 0; k < nd; ++k) {
      const auto& c = xy[at + nq + k];
      s.raw("<rect class=\"pca-doc\" x=\"" + coord(f.px(c[0]) - 2.5) + "\" y=\"" + coord(f.py(c[1]) - 2.5) +
            "\" width=\"5\" height=\"5\" fill=\"none\" stroke=\"" + colour + "\" stroke-opacity=\"0.7\" " +
            tag(run, index) + " data-phase=\"" + names[ph] + "\"/>");
    }
    for (size_t k = 0; k < nq; ++k) {
      const auto& c = xy[at + k];
      s.raw("<circle class=\"pca-query\" cx=\"" + coord(f.px(c[0])) + "\" cy=\"" + coord(f.py(c[1])) +
            "\" r=\"2.6\" fill=\"" + colour + "\" " + tag(run, index) + " data-phase=\"" + names[ph] + "\"/>");
    }
    at += nq + nd;
  }
  const double ly = fa.top + fa.height + 56;
  s.raw("<circle cx=\"" + coord(fa.left + 5) + "\" cy=\"" + coord(ly - 4) + "\" r=\"3\" fill=\"" + colour + "\"/>");
  s.text(fa.left + 14, ly, "queries", "start", "class=\"tick\"");
  s.rect(fa.left + 80, ly - 7, 6, 6, "none", "stroke=\"" + colour + "\"");
  s.text(fa.left + 92, ly, "documents; one plane fitted on both phases", "start", "class=\"tick\"");
  return s.str();
}

std::vector<std::string> metrics_present(const std::vector<RunData>& runs) {
  std::vector<std::string> out;
  for (const std::string& k : known_eval_metrics())
    for (const RunData& r : runs)
      if (std::any_of(r.metrics.begin(), r.metrics.end(), [&](const EvalMetric& m) { return m.key == k; })) {
        out.push_back(k);
        break;
      }
  return out;
}

namespace {

const EvalMetric* metric_of(const RunData& r, const std::string& key) {
  for (const EvalMetric& m : r.metrics)
    if (m.key == key) return &m;
  return nullptr;
}

}  // namespace

std::string metric_bars(const std::vector<RunData>& runs, const std::vector<std::string>& colours) {
  size_t with = 0;
  for (const RunData& r : runs) with += r.metrics.empty() ? 0 : 1;
  std::vector<BarRow> rows;
  for (const std::string& key : metrics_present(runs))
    for (size_t i = 0; i < runs.size(); ++i) {
      const EvalMetric* m = metric_of(runs[i], key);
      if (!m) continue;
      for (const char* phase : {"before", "after"}) {
        const std::string p = phase;
        // The run's name only when several runs share the chart.
        BarRow row{(with > 1 ? runs[i].label + " · " : "") + metric_name(key) + " · " + p, static_cast<int>(i),
                   runs[i].method, {}, "", "data-metric=\"" + esc(key) + "\""};
        const double v = p == "before" ? m->before : m->after;
        if (std::isfinite(v)) {
          row.segments.push_back({std::max(0.0, v), colours[i], p, p == "before" ? 0.35 : 1.0});
          row.value_text = fixed(v, 4);
        }
        rows.push_back(row);
      }
    }
  return bar_chart("metric-before-after", "Evaluation metrics before and after training",
                   "metric value (0 to 1, higher is better; STS: correlation with the gold scores)", rows,
                   {{"before (faint)", "#bbb"}, {"after", "#444"}});
}

std::string metrics_table(const std::vector<RunData>& runs, const std::vector<std::string>& colours) {
  const std::vector<std::string> keys = metrics_present(runs);
  std::string h = "<table class=\"comparison metrics\"><thead><tr><th>run</th><th>method</th>";
  for (const std::string& k : keys) h += "<th>" + esc(metric_name(k)) + " before → after</th>";
  h += "</tr></thead><tbody>";
  for (size_t i = 0; i < runs.size(); ++i) {
    if (runs[i].metrics.empty()) continue;
    h += "<tr data-run=\"" + std::to_string(i) + "\"><td><span class=\"swatch\" style=\"background:" + colours[i] +
         "\"></span>" + esc(runs[i].label) + "</td><td>" + esc(runs[i].method) + "</td>";
    for (const std::string& k : keys) {
      const EvalMetric* m = metric_of(runs[i], k);
      h += "<td class=\"num\">" + (m ? fixed(m->before, 4) + " → " + fixed(m->after, 4) : std::string("—")) + "</td>";
    }
    h += "</tr>";
  }
  return h + "</tbody></table>";
}

std::string metric_curve(const std::vector<RunData>& runs, const std::vector<std::string>& colours, const std::string& key) {
  Frame f;
  f.left = 64;
  f.top = 16;
  f.width = 560;
  f.height = 250;
  const std::string name = metric_name(key);
  Svg s(f.left + f.width + 16, f.top + f.height + 46, "metric-steps-" + key, name + " at each evaluation, by step");
  double xhi = 0, ylo = INFINITY, yhi = -INFINITY;
  for (const RunData& r : runs) {
    auto it = r.metric_curves.find(key);
    if (it == r.metric_curves.end()) continue;
    for (const CurvePoint& p : it->second) {
      xhi = std::max(xhi, p.step);
      ylo = std::min(ylo, p.value);
      yhi = std::max(yhi, p.value);
    }
  }
  if (!std::isfinite(ylo)) {
    s.text(f.left + f.width / 2, f.top + f.height / 2, "no evaluations recorded", "middle", "class=\"empty\"");
    return s.str();
  }
  const double pad = std::max(1e-3, (yhi - ylo) * 0.08);
  f.x_lo = 0;
  f.x_hi = xhi > 0 ? xhi : 1;
  f.y_lo = ylo - pad;
  f.y_hi = yhi + pad;
  s.axes(f, "optimizer step", name);
  for (size_t i = 0; i < runs.size(); ++i) {
    auto it = runs[i].metric_curves.find(key);
    if (it == runs[i].metric_curves.end()) continue;
    std::vector<std::pair<double, double>> pts;
    for (const CurvePoint& p : it->second) pts.push_back({f.px(p.step), f.py(p.value)});
    const std::string t = tag(runs[i], static_cast<int>(i));
    s.polyline(pts, colours[i], "class=\"eval\" stroke-width=\"1.5\" " + t, runs[i].label);
    for (size_t k = 0; k < pts.size(); ++k)
      s.raw("<circle class=\"eval-point\" cx=\"" + coord(pts[k].first) + "\" cy=\"" + coord(pts[k].second) +
            "\" r=\"3\" fill=\"" + colours[i] + "\" " + t + "><title>" + esc(runs[i].label) + ": " + name + " " +
            fixed(it->second[k].value, 4) + " at step " + human(it->second[k].step) + "</title></circle>");
  }
  return s.str();
}

}  // namespace peft::report
