#include "train/schedule.h"

#include <cmath>

#include "core/error.h"

namespace peft {

Schedule parse_schedule(const std::string& name) {
  if (name == "constant") return Schedule::Constant;
  if (name == "linear") return Schedule::Linear;
  if (name == "cosine") return Schedule::Cosine;
  fail("train", "unknown schedule '" + name + "' (use constant, linear or cosine)");
}

const char* schedule_name(Schedule s) {
  switch (s) {
    case Schedule::Constant: return "constant";
    case Schedule::Linear: return "linear";
    case Schedule::Cosine: return "cosine";
  }
  return "?";
}

double schedule_factor(Schedule s, int64_t t, int64_t total, int64_t warmup) {
  if (warmup > 0 && t <= warmup) return static_cast<double>(t) / static_cast<double>(warmup);
  if (s == Schedule::Constant || total <= warmup) return 1.0;
  double frac = static_cast<double>(t - warmup) / static_cast<double>(total - warmup);
  if (frac > 1) frac = 1;
  if (s == Schedule::Linear) return 1.0 - frac;
  return 0.5 * (1.0 + std::cos(M_PI * frac));
}

}  // namespace peft
