// SVG and HTML primitives for the report: escaping, numbers, a small
// builder for SVG elements, and a plot frame with "nice" axis ticks.
// Everything the report draws is inline SVG in one HTML file, so these
// write strings and load nothing.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace peft::report {

// Escapes & < > " ' for text and attribute values.
std::string esc(const std::string& s);
// A number for an attribute (coordinates): fixed, 2 decimals, no trailing zeros.
std::string coord(double v);
// A number for people: 3 significant digits, with k/M/G for large ones
// ("1.25k", "3.1M"); "—" for NaN.
std::string human(double v);
// Bytes as "512 KiB", "3.4 MiB", "1.2 GiB".
std::string human_bytes(double bytes);

// About n round tick values covering [lo, hi] (steps of 1, 2 or 5 × 10^k).
std::vector<double> nice_ticks(double lo, double hi, int n);

// A chart's drawing area inside its SVG: data coordinates to pixels.
struct Frame {
  double left = 64, top = 28, width = 520, height = 240;  // the plot area in px
  double x_lo = 0, x_hi = 1, y_lo = 0, y_hi = 1;
  double px(double x) const { return left + (x - x_lo) / (x_hi - x_lo) * width; }
  double py(double y) const { return top + height - (y - y_lo) / (y_hi - y_lo) * height; }
};

class Svg {
 public:
  // `kind` goes to data-chart (what the tests and readers look for).
  Svg(double width, double height, const std::string& kind, const std::string& title);
  // Raw markup (already escaped).
  void raw(const std::string& s) { body_ += s; }
  void rect(double x, double y, double w, double h, const std::string& fill, const std::string& extra = "");
  void line(double x1, double y1, double x2, double y2, const std::string& stroke, const std::string& extra = "");
  // anchor: start, middle or end.
  void text(double x, double y, const std::string& s, const std::string& anchor = "start",
            const std::string& extra = "");
  void polyline(const std::vector<std::pair<double, double>>& pts, const std::string& stroke,
                const std::string& extra = "", const std::string& title = "");
  // Axes with ticks, grid lines and labels (units in the labels).
  void axes(const Frame& f, const std::string& x_label, const std::string& y_label);
  std::string str() const;

 private:
  double w_, h_;
  std::string kind_, title_, body_;
};

}  // namespace peft::report
