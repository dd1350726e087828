// A batch of token sequences as every layer above core sees it: B rows of T
// tokens with targets, positions and optional packing segments.
#pragma once
#include <cstdint>
#include <vector>

namespace peft {

struct Batch {
  int64_t B = 0, T = 0;
  std::vector<int32_t> tokens;     // [B, T]
  std::vector<int32_t> targets;    // [B, T]; −1 = not scored (prompt, padding)
  std::vector<int32_t> positions;  // [B, T]; restart at 0 in each packed example
  std::vector<int32_t> segments;   // [B, T] or empty; attention stays within a segment

  int64_t scored() const {
    int64_t n = 0;
    for (int32_t t : targets) n += t >= 0;
    return n;
  }
};

}  // namespace peft
