#include "report/svg.h"

#include <cmath>
#include <cstdio>

namespace peft::report {

std::string esc(const std::string& s) {
  std::string o;
  o.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      case '\'': o += "&#39;"; break;
      default: o += c;
    }
  }
  return o;
}

std::string coord(double v) {
  if (!std::isfinite(v)) v = 0;
  char b[32];
  std::snprintf(b, sizeof b, "%.2f", v);
  std::string s = b;
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  if (s == "-0") s = "0";
  return s;
}

std::string human(double v) {
  if (!std::isfinite(v)) return "—";
  const double a = std::fabs(v);
  const char* suffix = "";
  double x = v;
  if (a >= 1e9) x = v / 1e9, suffix = "G";
  else if (a >= 1e6) x = v / 1e6, suffix = "M";
  else if (a >= 1e3) x = v / 1e3, suffix = "k";
  char b[32];
  if (*suffix || a >= 100 || a == 0) std::snprintf(b, sizeof b, "%.3g%s", x, suffix);
  else std::snprintf(b, sizeof b, "%.3g", x);
  return b;
}

std::string human_bytes(double bytes) {
  char b[32];
  if (!std::isfinite(bytes)) return "—";
  if (bytes >= 1024.0 * 1024 * 1024) std::snprintf(b, sizeof b, "%.2f GiB", bytes / (1024.0 * 1024 * 1024));
  else if (bytes >= 1024.0 * 1024) std::snprintf(b, sizeof b, "%.2f MiB", bytes / (1024.0 * 1024));
  else std::snprintf(b, sizeof b, "%.0f KiB", bytes / 1024.0);
  return b;
}

std::vector<double> nice_ticks(double lo, double hi, int n) {
  std::vector<double> t;
  if (!std::isfinite(lo) || !std::isfinite(hi) || hi <= lo || n < 1) return t;
  const double raw = (hi - lo) / n;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (raw <= m * mag) {
      step = m * mag;
      break;
    }
  for (double v = std::ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) t.push_back(std::fabs(v) < step * 1e-9 ? 0 : v);
  return t;
}

Svg::Svg(double width, double height, const std::string& kind, const std::string& title)
    : w_(width), h_(height), kind_(kind), title_(title) {}

void Svg::rect(double x, double y, double w, double h, const std::string& fill, const std::string& extra) {
  body_ += "<rect x=\"" + coord(x) + "\" y=\"" + coord(y) + "\" width=\"" + coord(std::max(0.0, w)) + "\" height=\"" +
           coord(std::max(0.0, h)) + "\" fill=\"" + fill + "\"" + (extra.empty() ? "" : " " + extra) + "/>";
}

void Svg::line(double x1, double y1, double x2, double y2, const std::string& stroke, const std::string& extra) {
  body_ += "<line x1=\"" + coord(x1) + "\" y1=\"" + coord(y1) + "\" x2=\"" + coord(x2) + "\" y2=\"" + coord(y2) +
           "\" stroke=\"" + stroke + "\"" + (extra.empty() ? "" : " " + extra) + "/>";
}

void Svg::text(double x, double y, const std::string& s, const std::string& anchor, const std::string& extra) {
  body_ += "<text x=\"" + coord(x) + "\" y=\"" + coord(y) + "\" text-anchor=\"" + anchor + "\"" +
           (extra.empty() ? "" : " " + extra) + ">" + esc(s) + "</text>";
}

void Svg::polyline(const std::vector<std::pair<double, double>>& pts, const std::string& stroke,
                   const std::string& extra, const std::string& title) {
  std::string p;
  for (const auto& [x, y] : pts) {
    if (!p.empty()) p += ' ';
    p += coord(x) + "," + coord(y);
  }
  body_ += "<polyline fill=\"none\" stroke=\"" + stroke + "\" points=\"" + p + "\"" + (extra.empty() ? "" : " " + extra) +
           (title.empty() ? "/>" : "><title>" + esc(title) + "</title></polyline>");
}

void Svg::axes(const Frame& f, const std::string& x_label, const std::string& y_label) {
  body_ += "<g class=\"axes\">";
  for (double v : nice_ticks(f.y_lo, f.y_hi, 5)) {
    line(f.left, f.py(v), f.left + f.width, f.py(v), "#e3e3e3");
    text(f.left - 6, f.py(v) + 4, human(v), "end", "class=\"tick\"");
  }
  for (double v : nice_ticks(f.x_lo, f.x_hi, 6)) {
    line(f.px(v), f.top + f.height, f.px(v), f.top + f.height + 4, "#777");
    text(f.px(v), f.top + f.height + 17, human(v), "middle", "class=\"tick\"");
  }
  line(f.left, f.top + f.height, f.left + f.width, f.top + f.height, "#777");
  line(f.left, f.top, f.left, f.top + f.height, "#777");
  text(f.left + f.width / 2, f.top + f.height + 36, x_label, "middle", "class=\"label\"");
  const double yl = f.top + f.height / 2;
  text(16, yl, y_label, "middle", "class=\"label\" transform=\"rotate(-90 16 " + coord(yl) + ")\"");
  body_ += "</g>";
}

std::string Svg::str() const {
  return "<svg class=\"chart\" data-chart=\"" + esc(kind_) + "\" width=\"" +
         coord(w_) + "\" height=\"" + coord(h_) + "\" viewBox=\"0 0 " + coord(w_) + " " + coord(h_) +
         "\" role=\"img\" aria-label=\"" + esc(title_) + "\"><title>" + esc(title_) + "</title>" + body_ + "</svg>";
}

}  // namespace peft::report
