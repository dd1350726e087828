#include "train/train_task.h"

#include <cmath>

namespace peft {

double EvalMetrics::get(const std::string& name) const {
  for (const auto& [k, v] : values)
    if (k == name) return v;
  return std::nan("");
}

}  // namespace peft
