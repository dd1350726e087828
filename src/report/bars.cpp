#include "report/bars.h"

#include <algorithm>
#include <cmath>

#include "report/svg.h"

namespace peft::report {

std::string bar_chart(const std::string& kind, const std::string& title, const std::string& unit,
                      const std::vector<BarRow>& rows, const std::vector<std::pair<std::string, std::string>>& legend) {
  const double label_w = 170, bar_w = 300, value_w = 120, row_h = 22, top = legend.empty() ? 8 : 30;
  double hi = 0;
  for (const BarRow& r : rows) {
    double sum = 0;
    for (const BarSegment& s : r.segments)
      if (std::isfinite(s.value) && s.value > 0) sum += s.value;
    hi = std::max(hi, sum);
  }
  if (hi <= 0) hi = 1;
  const auto ticks = nice_ticks(0, hi, 4);
  if (!ticks.empty()) hi = std::max(hi, ticks.back());
  const double height = top + row_h * static_cast<double>(rows.size()) + 40;
  Svg svg(label_w + bar_w + value_w, height, kind, title);
  double lx = label_w;
  for (const auto& [name, colour] : legend) {
    svg.rect(lx, 8, 10, 10, colour);
    svg.text(lx + 14, 17, name, "start", "class=\"tick\"");
    lx += 22 + 7.0 * static_cast<double>(name.size());
  }
  const double axis_y = top + row_h * static_cast<double>(rows.size()) + 4;
  for (double t : ticks) {
    const double x = label_w + t / hi * bar_w;
    svg.line(x, top, x, axis_y, "#e3e3e3");
    svg.text(x, axis_y + 14, human(t), "middle", "class=\"tick\"");
  }
  svg.line(label_w, top, label_w, axis_y, "#777");
  svg.text(label_w + bar_w / 2, axis_y + 32, unit, "middle", "class=\"label\"");
  for (size_t i = 0; i < rows.size(); ++i) {
    const BarRow& r = rows[i];
    const double y = top + row_h * static_cast<double>(i);
    svg.text(label_w - 6, y + row_h * 0.68, r.label, "end", "class=\"rowlabel\"");
    double x = label_w;
    for (const BarSegment& s : r.segments) {
      if (!std::isfinite(s.value) || s.value < 0) continue;
      const double w = s.value / hi * bar_w;
      std::string extra = "class=\"bar\" data-run=\"" + std::to_string(r.run) + "\" data-method=\"" + esc(r.method) +
                          "\" data-part=\"" + esc(s.part) + "\"";
      if (s.opacity < 1) extra += " fill-opacity=\"" + coord(s.opacity) + "\"";
      if (!r.attrs.empty()) extra += " " + r.attrs;
      svg.raw("<rect x=\"" + coord(x) + "\" y=\"" + coord(y + 3) + "\" width=\"" + coord(w) + "\" height=\"" +
              coord(row_h - 6) + "\" fill=\"" + s.colour + "\" " + extra + "><title>" + esc(r.label + " " + s.part) +
              ": " + human(s.value) + "</title></rect>");
      x += w;
    }
    svg.text(x + 6, y + row_h * 0.68, r.segments.empty() ? "—" : r.value_text, "start", "class=\"value\"");
  }
  return svg.str();
}

}  // namespace peft::report
