// Sums the gradients of the trainable tensors over the ranks of a
// data-parallel job, in a few large buckets.
//
// The gradients of all tensors are read as one long vector g (the tensors in
// visit order, back to back) and summed in pieces of bucket_bytes: each
// piece is copied into one flat buffer, summed with one all-reduce, and
// copied back. Few, large messages keep the per-message latency out of the
// step time (a LoRA model has hundreds of small tensors); the buffer bounds
// the extra memory (full fine-tuning has gradients as large as the model).
#pragma once
#include <cstdint>
#include <vector>

#include "core/adapter_slot.h"
#include "dist/communicator.h"

namespace peft {

class GradientSync {
 public:
  static constexpr int64_t kDefaultBucketBytes = int64_t{32} << 20;

  GradientSync(Communicator& comm, std::vector<ParamRef<float>> params, int64_t bucket_bytes = kDefaultBucketBytes);

  // g ← Σ over ranks of g, for every trainable tensor; the same bits on every
  // rank. A no-op for a single process.
  void allreduce();

  int64_t elements() const { return total_; }  // numbers summed per step
  int64_t bucket_floats() const { return bucket_; }
  int64_t buckets() const;                     // all-reduce calls per step
  double seconds() const { return seconds_; }  // time spent in allreduce() so far

 private:
  Communicator& comm_;
  std::vector<ParamRef<float>> params_;
  int64_t bucket_ = 0;  // floats per bucket
  int64_t total_ = 0;
  std::vector<float> buf_;
  double seconds_ = 0;
};

}  // namespace peft
