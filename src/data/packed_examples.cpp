#include "data/packed_examples.h"

#include <algorithm>
#include <numeric>

#include "core/error.h"
#include "core/rng.h"

namespace peft {

PackedExamples::PackedExamples(std::vector<Example> examples, int64_t seq_len, uint64_t seed, int32_t pad_id)
    : examples_(std::move(examples)), seq_len_(seq_len), seed_(seed), pad_id_(pad_id) {
  if (seq_len_ <= 0) fail("data", "sequence length must be positive");
  if (examples_.empty()) fail("data", "no training examples (every record was empty or had nothing to score)");
  int64_t slots = 0;
  for (const Example& e : examples_) {
    int64_t n = static_cast<int64_t>(e.tokens.size());
    PEFT_CHECK(n >= 2 && n <= seq_len_ + 1, "data", "examples must be prepared before packing");
    tokens_ += n;
    slots += n - 1;
  }
  seq_len_ = std::min(seq_len_, slots);
  plan_epoch();
  rows_epoch0_ = packing_.rows();
}

void PackedExamples::plan_epoch() {
  std::vector<int64_t> order(examples_.size());
  std::iota(order.begin(), order.end(), 0);
  // Fisher-Yates with an RNG derived from (seed, epoch), as TextWindows
  // does: an epoch's order depends on nothing drawn before it.
  Rng r(seed_ * 0x9e3779b97f4a7c15ull + static_cast<uint64_t>(epoch_) + 1);
  for (int64_t i = static_cast<int64_t>(order.size()) - 1; i > 0; --i) {
    int64_t j = static_cast<int64_t>(r.below(static_cast<uint64_t>(i + 1)));
    std::swap(order[i], order[j]);
  }
  packing_ = pack_examples(examples_, std::move(order), seq_len_);
}

Batch PackedExamples::empty_batch(int64_t rows) const {
  return zero_batch(rows, seq_len_, /*packed=*/true);
}

Batch PackedExamples::next_batch(int64_t B) {
  Batch b = empty_batch(B);
  for (int64_t r = 0; r < B; ++r) {
    if (index_ >= packing_.rows()) {
      ++epoch_;
      index_ = 0;
      plan_epoch();
    }
    fill_packed_row(examples_, packing_, index_++, pad_id_, b, r);
  }
  return b;
}

std::vector<Batch> PackedExamples::eval_batches(int64_t B, int64_t max_rows) const {
  std::vector<int64_t> order(examples_.size());
  std::iota(order.begin(), order.end(), 0);
  Packing p = pack_examples(examples_, std::move(order), seq_len_);
  int64_t n = p.rows();
  if (max_rows > 0) n = std::min(n, max_rows);
  std::vector<Batch> out;
  for (int64_t w = 0; w < n; w += B) {
    int64_t rows = std::min(B, n - w);
    Batch b = empty_batch(rows);
    for (int64_t r = 0; r < rows; ++r) fill_packed_row(examples_, p, w + r, pad_id_, b, r);
    out.push_back(std::move(b));
  }
  return out;
}

DataPosition PackedExamples::position() const { return {epoch_, index_, 0, 0}; }

void PackedExamples::restore(const DataPosition& p) {
  if (p.epoch < 0 || p.index < 0) fail("data", "the saved data position is invalid");
  epoch_ = p.epoch;
  plan_epoch();
  if (p.index > packing_.rows())
    fail("data", "the saved data position (row " + std::to_string(p.index) + " of epoch " + std::to_string(p.epoch) +
                     ") lies beyond this data's " + std::to_string(packing_.rows()) + " rows: is it the same data?");
  index_ = p.index;
}

}  // namespace peft
