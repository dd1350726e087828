#include "train/train_task.h"

#include <cmath>

#include "core/error.h"

namespace peft {

double EvalMetrics::get(const std::string& name) const {
  for (const auto& [k, v] : values)
    if (k == name) return v;
  return std::nan("");
}

int64_t TrainTask::keep_rows(int64_t, int64_t, int64_t) {
  fail("dist", "this training task cannot split a batch over several processes (its loss couples the rows "
               "of a batch); run it as one process");
}

}  // namespace peft
