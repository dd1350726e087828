// Random initialisers for adapter matrices, following PyTorch's definitions
// (the values differ from PyTorch's because the generator differs).
#pragma once
#include <cmath>
#include <cstdint>

#include "core/rng.h"

namespace peft {

// U(−bound, bound), drawn in row-major order.
template <typename T>
void init_uniform(Rng& rng, T* data, int64_t count, double bound) {
  for (int64_t i = 0; i < count; ++i)
    data[i] = static_cast<T>(bound * (2.0 * rng.uniform_double() - 1.0));
}

// PyTorch's kaiming_uniform_(w, a) for a weight with fan_in columns:
// gain = sqrt(2 / (1 + a²)), bound = gain · sqrt(3 / fan_in).
// a = sqrt(5) (nn.Linear's and LoRA's default) gives bound = 1/sqrt(fan_in);
// a = 0 (VeRA) gives sqrt(6 / fan_in).
inline double kaiming_uniform_bound(int64_t fan_in, double a) {
  const double gain = std::sqrt(2.0 / (1.0 + a * a));
  return gain * std::sqrt(3.0 / static_cast<double>(fan_in));
}

// N(0, std²).
template <typename T>
void init_normal(Rng& rng, T* data, int64_t count, double std_dev) {
  for (int64_t i = 0; i < count; ++i) data[i] = static_cast<T>(std_dev * rng.normal());
}

}  // namespace peft
