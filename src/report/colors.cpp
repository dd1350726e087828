#include "report/colors.h"

#include <algorithm>
#include <cstdio>
#include <map>

namespace peft::report {

std::string method_colour(const std::string& method) {
  // Colour-blind-safe hues (Okabe–Ito), one per method.
  static const std::map<std::string, std::string> k{
      {"full", "#d55e00"},       {"lora", "#0072b2"},      {"lora-fa", "#009e73"},
      {"vera", "#cc79a7"},       {"delta-lora", "#e69f00"}, {"lora-plus", "#56b4e9"},
  };
  auto it = k.find(method);
  return it == k.end() ? "#666666" : it->second;
}

namespace {

// Mixes `hex` toward white (t > 0) or black (t < 0) by |t|.
std::string shade(const std::string& hex, double t) {
  unsigned r = 0, g = 0, b = 0;
  std::sscanf(hex.c_str(), "#%02x%02x%02x", &r, &g, &b);
  auto mix = [&](unsigned c) {
    const double target = t > 0 ? 255.0 : 0.0;
    const double a = std::min(1.0, std::abs(t));
    return static_cast<unsigned>(c + (target - c) * a + 0.5);
  };
  char out[8];
  std::snprintf(out, sizeof out, "#%02x%02x%02x", mix(r), mix(g), mix(b));
  return out;
}

}  // namespace

std::vector<std::string> run_colours(const std::vector<RunData>& runs) {
  std::map<std::string, int> count, seen;
  for (const RunData& r : runs) ++count[r.method];
  std::vector<std::string> out;
  for (const RunData& r : runs) {
    const std::string base = method_colour(r.method);
    const int n = count[r.method], i = seen[r.method]++;
    if (n == 1) {
      out.push_back(base);
      continue;
    }
    // From 35% darker to 45% lighter across the runs of this method.
    const double t = -0.35 + 0.8 * static_cast<double>(i) / static_cast<double>(n - 1);
    out.push_back(shade(base, t));
  }
  return out;
}

}  // namespace peft::report
