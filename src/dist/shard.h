// How a data-parallel job splits a global batch: a rule that depends only on
// the global batch (its rows, in the order the data source drew them), so the
// same global batch trains the same model whatever the number of ranks.
//
// Every rank draws the step's whole global batch from its own copy of the
// data source (token ids: cheap), so all ranks stand at the same data
// position and a checkpoint written with N ranks resumes with any other N.
// Rank r of N takes the contiguous rows [⌊r·G/N⌋, ⌊(r+1)·G/N⌋) of the G
// rows, and runs them in micro-batches of at most max_rows rows, so memory
// per rank stays that of one micro-batch.
#pragma once
#include <cstdint>
#include <utility>
#include <vector>

#include "core/batch.h"

namespace peft {

// Rows [first, last) of `total` that rank `rank` of `size` takes.
std::pair<int64_t, int64_t> shard_range(int64_t total, int rank, int size);

// The rank's micro-batches: rows [first, last) of the concatenation of
// `global` (batches of equal T), regrouped into batches of at most max_rows.
std::vector<Batch> shard_rows(const std::vector<Batch>& global, int64_t first, int64_t last, int64_t max_rows);

}  // namespace peft
