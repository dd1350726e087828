// Horizontal bar charts: one row per run (or per run and phase), each row a
// stack of segments (memory: weights, gradients, optimizer state,
// activations). Rows are labelled on the left, their value on the right.
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace peft::report {

struct BarSegment {
  double value = 0;
  std::string colour;
  std::string part;      // data-part of the rect ("weights", "after", ...)
  double opacity = 1.0;
};

struct BarRow {
  std::string label;
  int run = -1;  // data-run of the rects
  std::string method;
  std::vector<BarSegment> segments;  // empty: the row says "—"
  std::string value_text;            // drawn right of the bar
  std::string attrs;                 // more attributes for the rects (already escaped)
};

// `kind`: data-chart; `unit`: the axis label, with its unit. Each segment is
// one <rect class="bar">. `legend`: (name, colour) pairs drawn above the bars
// when the segments mean different things.
std::string bar_chart(const std::string& kind, const std::string& title, const std::string& unit,
                      const std::vector<BarRow>& rows,
                      const std::vector<std::pair<std::string, std::string>>& legend = {});

}  // namespace peft::report
