// Where training batches come from. Implementations: TextWindows (a token
// stream cut into windows) and example sets (JSONL records with loss masks,
// packed). The trainer sees only this interface.
#pragma once
#include <cstdint>
#include <vector>

#include "core/batch.h"

namespace peft {

struct DataPosition {
  int64_t epoch = 0;
  int64_t index = 0;  // next item within the epoch's order
  uint64_t rng0 = 0, rng1 = 0;
};

// A batch of B rows of T zeros for a source to fill; segments only when
// `packed` (several examples per row).
inline Batch zero_batch(int64_t B, int64_t T, bool packed = false) {
  Batch b;
  b.B = B;
  b.T = T;
  b.tokens.resize(B * T);
  b.targets.resize(B * T);
  b.positions.resize(B * T);
  if (packed) b.segments.resize(B * T);
  return b;
}

class DataSource {
 public:
  virtual ~DataSource() = default;
  // The next B rows (training); advances the position.
  virtual Batch next_batch(int64_t B) = 0;
  // A fixed, deterministic set of evaluation batches of at most B rows, at
  // most max_rows rows in all (0 = everything).
  virtual std::vector<Batch> eval_batches(int64_t B, int64_t max_rows) const = 0;
  virtual DataPosition position() const = 0;
  virtual void restore(const DataPosition& p) = 0;
  virtual int64_t tokens() const = 0;          // tokens in the data
  virtual int64_t rows_per_epoch() const = 0;  // training rows in one pass
  virtual int64_t seq_len() const = 0;
};

}  // namespace peft
