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

namespace peft {

// A batch for encoder (embedding) models: B sequences of T tokens, padded at
// the end with the model's pad token. type_ids are BERT's segment ids (0 for
// single texts); mask marks real tokens (1) and padding (0).
struct EncoderBatch {
  int64_t B = 0, T = 0;
  std::vector<int32_t> tokens;    // [B, T]
  std::vector<int32_t> type_ids;  // [B, T], or empty for all 0
  std::vector<uint8_t> mask;      // [B, T], or empty when no row is padded

  const uint8_t* mask_or_null() const { return mask.empty() ? nullptr : mask.data(); }
};

}  // namespace peft
