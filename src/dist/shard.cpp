#include "dist/shard.h"

#include <algorithm>

#include "core/error.h"

namespace peft {

std::pair<int64_t, int64_t> shard_range(int64_t total, int rank, int size) {
  if (size <= 0 || rank < 0 || rank >= size || total < 0) fail("dist", "bad shard request");
  return {total * rank / size, total * (rank + 1) / size};
}

std::vector<Batch> shard_rows(const std::vector<Batch>& global, int64_t first, int64_t last, int64_t max_rows) {
  if (max_rows <= 0) fail("dist", "micro-batches must hold at least one row");
  std::vector<Batch> out;
  if (first >= last) return out;
  const int64_t T = global.empty() ? 0 : global[0].T;
  const bool packed = !global.empty() && !global[0].segments.empty();
  auto copy_row = [&](const Batch& src, int64_t row, Batch& dst, int64_t at) {
    auto span = [&](const std::vector<int32_t>& from, std::vector<int32_t>& to) {
      std::copy(from.begin() + row * T, from.begin() + (row + 1) * T, to.begin() + at * T);
    };
    span(src.tokens, dst.tokens);
    span(src.targets, dst.targets);
    span(src.positions, dst.positions);
    if (packed) span(src.segments, dst.segments);
  };
  int64_t row = 0;  // global row index of the start of the current source batch
  for (const Batch& b : global) {
    if (b.T != T || b.segments.empty() == packed) fail("dist", "the micro-batches of a step differ in shape");
    for (int64_t i = 0; i < b.B; ++i) {
      const int64_t g = row + i;
      if (g < first || g >= last) continue;
      if (out.empty() || out.back().B == max_rows) {
        const int64_t rows = std::min(max_rows, last - g);
        Batch nb;
        nb.B = rows;
        nb.T = T;
        nb.tokens.resize(rows * T);
        nb.targets.resize(rows * T);
        nb.positions.resize(rows * T);
        if (packed) nb.segments.resize(rows * T);
        nb.B = 0;  // counts the rows copied so far
        out.push_back(std::move(nb));
      }
      copy_row(b, i, out.back(), out.back().B);
      ++out.back().B;
    }
    row += b.B;
  }
  return out;
}

}  // namespace peft
