// Tokenized examples (JSONL records) as a DataSource: shuffled by seed once
// per epoch, then packed greedily into rows (data/packing.h), B rows per
// batch. An epoch's order and packing are a pure function of (seed, epoch),
// so the position (epoch, row index) is all a checkpoint needs to redraw
// exactly the batches an uninterrupted run would.
#pragma once
#include <cstdint>
#include <vector>

#include "data/data_source.h"
#include "data/examples.h"
#include "data/packing.h"

namespace peft {

class PackedExamples : public DataSource {
 public:
  // Examples must already fit (prepare_examples). Rows are seq_len slots, or
  // fewer when all the examples together need less (a tiny data set is then
  // one row without padding columns). pad_id fills the ends of rows.
  PackedExamples(std::vector<Example> examples, int64_t seq_len, uint64_t seed, int32_t pad_id);

  Batch next_batch(int64_t B) override;
  // The examples in file order, packed, at most max_rows rows (0 = all), in
  // batches of at most B rows.
  std::vector<Batch> eval_batches(int64_t B, int64_t max_rows) const override;
  DataPosition position() const override;
  void restore(const DataPosition& p) override;
  int64_t tokens() const override { return tokens_; }
  // Rows of the first epoch's packing (later epochs pack a different order
  // and may need a row more or less).
  int64_t rows_per_epoch() const override { return rows_epoch0_; }
  int64_t seq_len() const override { return seq_len_; }

  const std::vector<Example>& examples() const { return examples_; }
  int64_t epoch() const { return epoch_; }
  // The packing of the current epoch (for tests).
  const Packing& packing() const { return packing_; }

 private:
  void plan_epoch();
  Batch empty_batch(int64_t rows) const;

  std::vector<Example> examples_;
  int64_t seq_len_;
  uint64_t seed_;
  int32_t pad_id_;
  int64_t tokens_ = 0, rows_epoch0_ = 0;
  Packing packing_;
  int64_t epoch_ = 0, index_ = 0;
};

}  // namespace peft
