#include "report/heatmap.h"

#include <algorithm>
#include <cstdio>
#include <map>

#include "report/svg.h"

namespace peft::report {

namespace {

// `hex` mixed with white: t = 0 white, t = 1 the colour.
std::string tint(const std::string& hex, double t) {
  unsigned r = 0, g = 0, b = 0;
  std::sscanf(hex.c_str(), "#%02x%02x%02x", &r, &g, &b);
  t = std::clamp(t, 0.0, 1.0);
  auto mix = [&](unsigned c) { return static_cast<unsigned>(255.0 + (c - 255.0) * t + 0.5); };
  char out[8];
  std::snprintf(out, sizeof out, "#%02x%02x%02x", mix(r), mix(g), mix(b));
  return out;
}

int module_rank(const std::string& m) {
  static const std::vector<std::string> order{"q", "k", "v", "o", "gate", "up", "down"};
  auto it = std::find(order.begin(), order.end(), m);
  return it == order.end() ? 100 : static_cast<int>(it - order.begin());
}

}  // namespace

std::string heat_map(const RunData& r, const std::string& colour) {
  if (r.heat.empty()) {
    Svg s(520, 40, "heatmap", "Update size of " + r.label);
    s.text(8, 24, r.heat_note.empty() ? "no update sizes for this run" : r.heat_note, "start", "class=\"note\"");
    return s.str();
  }
  std::vector<std::string> modules;
  int64_t max_block = 0;
  double hi = 0;
  for (const HeatCell& c : r.heat) {
    if (std::find(modules.begin(), modules.end(), c.module) == modules.end()) modules.push_back(c.module);
    max_block = std::max(max_block, c.block);
    hi = std::max(hi, c.ratio);
  }
  std::stable_sort(modules.begin(), modules.end(),
                   [](const std::string& a, const std::string& b) { return module_rank(a) < module_rank(b); });
  const double cw = 62, ch = 24, left = 70, top = 30;
  const int64_t rows = max_block + 1;
  const double width = left + cw * static_cast<double>(modules.size()) + 130;
  const double height = std::max(top + ch * static_cast<double>(rows) + 44, top + 150.0);
  Svg s(width, height, "heatmap", "‖ΔW‖/‖W‖ per layer and module: " + r.label);
  for (size_t j = 0; j < modules.size(); ++j)
    s.text(left + cw * (static_cast<double>(j) + 0.5), top - 8, modules[j], "middle", "class=\"tick\"");
  for (int64_t b = 0; b < rows; ++b)
    s.text(left - 8, top + ch * (static_cast<double>(b) + 0.65), "layer " + std::to_string(b), "end", "class=\"tick\"");
  for (const HeatCell& c : r.heat) {
    const auto j = std::find(modules.begin(), modules.end(), c.module) - modules.begin();
    const double x = left + cw * static_cast<double>(j), y = top + ch * static_cast<double>(std::max<int64_t>(0, c.block));
    const double t = hi > 0 ? c.ratio / hi : 0;
    char val[32];
    std::snprintf(val, sizeof val, c.ratio >= 0.1 ? "%.2f" : "%.3f", c.ratio);
    s.raw("<rect class=\"cell\" x=\"" + coord(x + 1) + "\" y=\"" + coord(y + 1) + "\" width=\"" + coord(cw - 2) +
          "\" height=\"" + coord(ch - 2) + "\" fill=\"" + tint(colour, t) + "\" data-layer=\"" + esc(c.layer) +
          "\" data-ratio=\"" + std::to_string(c.ratio) + "\"><title>" + esc(c.layer) + ": ‖ΔW‖/‖W‖ = " + val +
          "</title></rect>");
    s.text(x + cw / 2, y + ch * 0.65, val, "middle", std::string("class=\"cellvalue\"") + (t > 0.6 ? " fill=\"#fff\"" : ""));
  }
  // The scale: white to the colour, 0 to the largest value.
  const double lx = left + cw * static_cast<double>(modules.size()) + 24;
  for (int k = 0; k < 10; ++k)
    s.rect(lx, top + k * 12.0, 14, 12, tint(colour, 1.0 - k / 9.0));
  s.text(lx + 20, top + 10, human(hi), "start", "class=\"tick\"");
  s.text(lx + 20, top + 118, "0", "start", "class=\"tick\"");
  s.text(left, height - 12, "cell: ‖ΔW‖_F / ‖W‖_F (relative update size, no unit)", "start", "class=\"label\"");
  return s.str();
}

}  // namespace peft::report
