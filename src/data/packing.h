// Packing tokenized examples into fixed-length rows.
//
// An example of n tokens takes n − 1 slots of a row: its tokens 0..n−2 are
// inputs and tokens 1..n−1 their targets (−1 where the mask says "not
// scored"). Its last token is only ever a target, so nothing is predicted
// across the boundary to the next example. Each example in a row gets its
// own segment id (attention stays inside it) and positions 0, 1, ... of its
// own. Rows are filled greedily in the given order: an example that does not
// fit in the space left closes the row, which is padded (pad token, target
// −1, a segment of its own) and the example starts the next row.
//
// Because examples stay in order, the rows of one packing are runs of the
// order: row k holds order[starts[k] .. starts[k+1]).
#pragma once
#include <cstdint>
#include <vector>

#include "core/batch.h"
#include "data/examples.h"

namespace peft {

struct Packing {
  std::vector<int64_t> order;   // example indices in packing order
  std::vector<int64_t> starts;  // row k = order[starts[k] .. starts[k+1]); size rows + 1

  int64_t rows() const { return starts.empty() ? 0 : static_cast<int64_t>(starts.size()) - 1; }
};

struct PrepareStats {
  int64_t truncated = 0;  // examples cut to seq_len + 1 tokens
  int64_t dropped = 0;    // examples left with nothing to score (too short, or the cut removed every scored token)
};

// Cuts examples longer than seq_len + 1 tokens down to seq_len + 1 (keeping
// the start) and drops those that then score nothing.
PrepareStats prepare_examples(std::vector<Example>& examples, int64_t seq_len);

// Greedy packing of the examples in `order` into rows of seq_len slots.
// Every example must be at most seq_len + 1 tokens (prepare_examples).
Packing pack_examples(const std::vector<Example>& examples, std::vector<int64_t> order, int64_t seq_len);

// Writes packed row `row` of `p` into row `r` of `b` (b's arrays sized B·T, T = seq_len).
void fill_packed_row(const std::vector<Example>& examples, const Packing& p, int64_t row, int32_t pad_id, Batch& b,
                     int64_t r);

}  // namespace peft
