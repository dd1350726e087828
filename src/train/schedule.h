// Learning-rate schedules with linear warmup.
//   warmup:   lr_t = lr · (t / warmup)                  for t ≤ warmup (t counts from 1)
//   constant: lr
//   linear:   lr · (T − t) / (T − warmup)              decaying to 0 at the last step T
//   cosine:   lr · ½ (1 + cos(π · (t − warmup) / (T − warmup)))
#pragma once
#include <cstdint>
#include <string>

namespace peft {

enum class Schedule { Constant, Linear, Cosine };

Schedule parse_schedule(const std::string& name);  // throws "[train] unknown schedule"
const char* schedule_name(Schedule s);

// The multiplier of the base learning rate at step t (1-based) of total.
double schedule_factor(Schedule s, int64_t t, int64_t total, int64_t warmup);

}  // namespace peft
