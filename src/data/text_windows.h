// Plain text as training data: the tokenized file is one stream (BOS first),
// cut into windows of seq_len + 1 tokens; a window's first seq_len tokens are
// the input and its last seq_len tokens the targets.
//
// Two ways to draw training windows:
//   Random     each row starts at a uniformly random offset (what most quick
//              fine-tuning scripts do; the PyTorch reference in the issue does this)
//   Epochs     non-overlapping windows, shuffled by seed once per epoch, so every
//              token is seen once per epoch
// The position in the data (epoch, index) and the sampler's RNG are saved in
// checkpoints so a resumed run draws exactly the batches an uninterrupted run would.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/rng.h"
#include "core/batch.h"
#include "data/data_source.h"

namespace peft {

enum class Sampling { Random, Epochs };

class TextWindows : public DataSource {
 public:
  TextWindows(std::vector<int32_t> stream, int64_t seq_len, Sampling sampling, uint64_t seed);

  int64_t tokens() const override { return static_cast<int64_t>(stream_.size()); }
  int64_t rows_per_epoch() const override;
  int64_t seq_len() const override { return seq_len_; }

  Batch next_batch(int64_t B) override;
  // Consecutive non-overlapping windows from the start, at most max_windows
  // (0 = all), as batches of B rows.
  std::vector<Batch> eval_batches(int64_t B, int64_t max_windows) const override;

  DataPosition position() const override;
  void restore(const DataPosition& p) override;
  int64_t epoch() const { return epoch_; }

 private:
  void fill_row(Batch& b, int64_t row, int64_t start) const;
  void shuffle_epoch();

  std::vector<int32_t> stream_;
  int64_t seq_len_;
  Sampling sampling_;
  uint64_t seed_;
  Rng rng_;
  std::vector<int64_t> order_;
  int64_t epoch_ = 0, index_ = 0;
};

// Splits a token stream: the first (1 − fraction) for training, the rest for
// evaluation (which gets its own BOS at the front).
void split_stream(const std::vector<int32_t>& all, double eval_fraction, int32_t bos, std::vector<int32_t>& train,
                  std::vector<int32_t>& eval);

}  // namespace peft
