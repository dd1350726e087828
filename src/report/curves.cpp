#include "report/curves.h"

#include <algorithm>
#include <cmath>

#include "report/svg.h"

namespace peft::report {

std::vector<double> smooth(const std::vector<double>& v, double w) {
  std::vector<double> out;
  out.reserve(v.size());
  double m = 0, wt = 1;
  for (double x : v) {
    m = w * m + (1 - w) * x;
    wt *= w;
    out.push_back(wt < 1 ? m / (1 - wt) : x);
  }
  return out;
}

double smoothing_weight(size_t n) {
  if (n < 20) return 0.5;
  // Heavier averaging lags more: an EMA with weight w trails a falling
  // curve by about w / (1 − w) points, so stay at 9 points for long runs.
  if (n < 200) return 0.8;
  return 0.9;
}

std::string loss_chart(const std::vector<RunData>& runs, const std::vector<std::string>& colours, Series s, XAxis x) {
  const bool train = s == Series::Train;
  const bool steps = x == XAxis::Steps;
  auto points_of = [&](const RunData& r) -> const std::vector<CurvePoint>& { return train ? r.train : r.eval; };
  auto xv = [&](const CurvePoint& p) { return steps ? p.step : p.tokens; };
  auto usable = [&](const RunData& r) {
    const auto& v = points_of(r);
    return !v.empty() && (steps || v.front().tokens >= 0);
  };
  Frame f;
  f.left = 64;
  f.top = 16;
  f.width = 560;
  f.height = 250;
  double xlo = 0, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
  std::vector<std::string> left_out;
  for (const RunData& r : runs) {
    if (!usable(r)) {
      left_out.push_back(r.label);
      continue;
    }
    for (const CurvePoint& p : points_of(r)) {
      xhi = std::max(xhi, xv(p));
      ylo = std::min(ylo, p.value);
      yhi = std::max(yhi, p.value);
    }
  }
  const std::string what = train ? "Training loss" : "Evaluation loss";
  const std::string xlabel = steps ? "optimizer step" : "input tokens seen";
  const std::string kind = std::string(train ? "train" : "eval") + "-loss-" + (steps ? "steps" : "tokens");
  Svg svg(f.left + f.width + 16, f.top + f.height + 46, kind, what + " by " + xlabel);
  if (!std::isfinite(xhi) || !std::isfinite(ylo)) {
    svg.text(f.left + f.width / 2, f.top + f.height / 2, "no " + std::string(train ? "training" : "evaluation") +
             " records in these runs", "middle", "class=\"empty\"");
    return svg.str();
  }
  if (xhi <= xlo) xhi = xlo + 1;
  const double pad = std::max(1e-3, (yhi - ylo) * 0.05);
  const auto yt = nice_ticks(ylo - pad, yhi + pad, 5);
  f.x_lo = xlo;
  f.x_hi = xhi;
  f.y_lo = std::min(ylo - pad, yt.empty() ? ylo - pad : yt.front());
  f.y_hi = std::max(yhi + pad, yt.empty() ? yhi + pad : yt.back());
  // LLM losses are per predicted token; embedding losses (contrastive,
  // CoSENT, ...) are per example of the batch.
  size_t n_emb = 0;
  for (const RunData& r : runs) n_emb += r.is_embedding() ? 1 : 0;
  const std::string unit = n_emb == 0 ? "nats/token" : n_emb == runs.size() ? "per example" : "nats/token; per example for embedding runs";
  svg.axes(f, xlabel, what + " (" + unit + ")");
  for (size_t i = 0; i < runs.size(); ++i) {
    const RunData& r = runs[i];
    if (!usable(r)) continue;
    const auto& pts = points_of(r);
    const std::string tag = "data-run=\"" + std::to_string(i) + "\" data-method=\"" + esc(r.method) + "\"";
    std::vector<std::pair<double, double>> raw;
    std::vector<double> vals;
    for (const CurvePoint& p : pts) {
      raw.push_back({f.px(xv(p)), f.py(p.value)});
      vals.push_back(p.value);
    }
    if (train) {
      svg.polyline(raw, colours[i], "class=\"raw\" stroke-width=\"1\" stroke-opacity=\"0.25\" " + tag);
      const std::vector<double> sm = smooth(vals, smoothing_weight(vals.size()));
      std::vector<std::pair<double, double>> sp;
      for (size_t k = 0; k < pts.size(); ++k) sp.push_back({raw[k].first, f.py(sm[k])});
      svg.polyline(sp, colours[i], "class=\"smooth\" stroke-width=\"2\" " + tag, r.label);
    } else {
      svg.polyline(raw, colours[i], "class=\"eval\" stroke-width=\"1.5\" " + tag);
      for (size_t k = 0; k < raw.size(); ++k)
        svg.raw("<circle class=\"eval-point\" cx=\"" + coord(raw[k].first) + "\" cy=\"" + coord(raw[k].second) +
                "\" r=\"3\" fill=\"" + colours[i] + "\" " + tag + "><title>" + esc(r.label) + ": " +
                human(vals[k]) + " at step " + human(pts[k].step) + "</title></circle>");
    }
  }
  if (!left_out.empty()) {
    std::string names;
    for (const auto& n : left_out) names += (names.empty() ? "" : ", ") + n;
    svg.text(f.left + 4, f.top + 12, "not drawn (no " + std::string(steps ? "records" : "token counts") +
             "): " + names, "start", "class=\"note\"");
  }
  return svg.str();
}

}  // namespace peft::report
