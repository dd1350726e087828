#include "data/text_windows.h"

#include <algorithm>

#include "core/error.h"

namespace peft {

TextWindows::TextWindows(std::vector<int32_t> stream, int64_t seq_len, Sampling sampling, uint64_t seed)
    : stream_(std::move(stream)), seq_len_(seq_len), sampling_(sampling), seed_(seed), rng_(seed) {
  if (seq_len_ <= 0) fail("data", "sequence length must be positive");
  if (tokens() < 2) fail("data", "the training text is empty (fewer than 2 tokens)");
  if (tokens() < seq_len_ + 1) {
    // Short data: one window covering all of it.
    seq_len_ = tokens() - 1;
  }
  shuffle_epoch();
}

int64_t TextWindows::rows_per_epoch() const { return (tokens() - 1) / seq_len_; }

void TextWindows::shuffle_epoch() {
  order_.resize(rows_per_epoch());
  for (int64_t i = 0; i < static_cast<int64_t>(order_.size()); ++i) order_[i] = i * seq_len_;
  // Fisher-Yates with an RNG derived from (seed, epoch), so an epoch's order
  // does not depend on how many random draws came before.
  Rng r(seed_ * 0x9e3779b97f4a7c15ull + static_cast<uint64_t>(epoch_) + 1);
  for (int64_t i = static_cast<int64_t>(order_.size()) - 1; i > 0; --i) {
    int64_t j = static_cast<int64_t>(r.below(static_cast<uint64_t>(i + 1)));
    std::swap(order_[i], order_[j]);
  }
}

void TextWindows::fill_row(Batch& b, int64_t row, int64_t start) const {
  for (int64_t t = 0; t < seq_len_; ++t) {
    b.tokens[row * seq_len_ + t] = stream_[start + t];
    b.targets[row * seq_len_ + t] = stream_[start + t + 1];
    b.positions[row * seq_len_ + t] = static_cast<int32_t>(t);
  }
}

Batch TextWindows::next_batch(int64_t B) {
  Batch b = zero_batch(B, seq_len_);
  for (int64_t r = 0; r < B; ++r) {
    int64_t start;
    if (sampling_ == Sampling::Random) {
      start = static_cast<int64_t>(rng_.below(static_cast<uint64_t>(tokens() - seq_len_)));
    } else {
      if (index_ >= static_cast<int64_t>(order_.size())) {
        ++epoch_;
        index_ = 0;
        shuffle_epoch();
      }
      start = order_[index_++];
    }
    fill_row(b, r, start);
  }
  return b;
}

std::vector<Batch> TextWindows::eval_batches(int64_t B, int64_t max_windows) const {
  int64_t n = rows_per_epoch();
  if (max_windows > 0) n = std::min(n, max_windows);
  std::vector<Batch> out;
  for (int64_t w = 0; w < n; w += B) {
    int64_t rows = std::min(B, n - w);
    Batch b = zero_batch(rows, seq_len_);
    for (int64_t r = 0; r < rows; ++r) fill_row(b, r, (w + r) * seq_len_);
    out.push_back(std::move(b));
  }
  return out;
}

DataPosition TextWindows::position() const { return {epoch_, index_, rng_.state0(), rng_.state1()}; }

void TextWindows::restore(const DataPosition& p) {
  epoch_ = p.epoch;
  index_ = p.index;
  rng_.set_state(p.rng0, p.rng1);
  shuffle_epoch();
}

void split_stream(const std::vector<int32_t>& all, double eval_fraction, int32_t bos, std::vector<int32_t>& train,
                  std::vector<int32_t>& eval) {
  if (eval_fraction <= 0 || eval_fraction >= 1) fail("data", "the eval split must be between 0 and 1");
  int64_t cut = static_cast<int64_t>(static_cast<double>(all.size()) * (1.0 - eval_fraction));
  train.assign(all.begin(), all.begin() + cut);
  eval.clear();
  if (bos >= 0) eval.push_back(bos);
  eval.insert(eval.end(), all.begin() + cut, all.end());
}

}  // namespace peft
