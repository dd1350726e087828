// The trainer's side of data-parallel training (src/dist does the transport).
//
// Every rank holds the whole model and draws every step's whole global batch
// (dist/shard.h); rank r runs forward and backward on its contiguous share of
// the rows only, in micro-batches of at most the micro-batch size. Each
// micro-batch's gradient is scaled by 1/S, S the scored tokens of the whole
// global batch (every rank can count them: it holds the batch), so the sum
// over ranks of the local gradients is the gradient of the global mean loss,
// the same as one process computes (only the order of the sums differs).
// The ranks then hold the same gradients and take the same optimizer step,
// so parameters, optimizer moments, Delta-LoRA's base and anchors stay
// identical by construction; verify_in_sync() checks that they are.
//
// Fixed reduction order (reduce_blocks K > 0, --reduce-blocks): the step's
// rows are cut into K blocks whatever the number of ranks, rank r runs the
// blocks [⌊r·K/N⌋, ⌊(r+1)·K/N⌋) one by one (each in micro-batches of at most
// the micro-batch size) and the block gradients are added along one binary
// tree over the block index (dist/block_sum.h). The trained tensors are then
// the same bits for every N, one process included, given the same K and
// the same threads per process; K = 0 keeps the plain split, where only the
// order of the sums differs between N.
//
// Dropout: each adapter's generator skips the draws of the rows before and
// after the rank's share, so each rank draws the masks one process would,
// and all ranks end the step with the same generator state.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/adapter_slot.h"
#include "core/batch.h"
#include "dist/communicator.h"
#include "dist/block_sum.h"
#include "dist/grad_sync.h"
#include "train/train_task.h"

namespace peft {

class DataParallel {
 public:
  // `reduce_blocks`: K above, 0 for the plain split.
  DataParallel(Communicator& comm, const std::vector<ParamRef<float>>& params, std::vector<Adapter<float>*> adapters,
               int64_t reduce_blocks = 0);

  Communicator& comm() { return comm_; }
  bool root() const { return comm_.is_root(); }

  // After task.draw_step and the gradients zeroed: runs forward and backward
  // of this rank's share of the step (micro-batches of at most max_rows rows,
  // gradients scaled by `grad_scale`) and sums gradients and losses over the
  // ranks; returns the loss sum of the whole step. Step `step` is the one
  // being taken (counted from 1).
  double run_step(TrainTask& task, int64_t micro_batches, int64_t max_rows, double grad_scale, int64_t step);

  // After task.draw_step: keeps this rank's rows of the step in the task
  // (all of them for a single process) in micro-batches of at most max_rows
  // rows and returns how many the task now runs; advances the dropout
  // generators past the rows of the ranks before this one.
  int64_t begin_step(TrainTask& task, int64_t micro_batches, int64_t max_rows);
  // After this rank's backward of step `step`: sums the gradients and the
  // loss over the ranks (returns the global loss sum) and advances the
  // dropout generators past the rows of the ranks after this one.
  double reduce(double local_loss_sum, int64_t step);

  // Throws "[dist] ranks hold different ..." unless the bytes of `spans` are
  // the same on every rank (a hash per rank, compared with rank 0's).
  void verify_in_sync(const std::vector<std::pair<const void*, size_t>>& spans, const std::string& what);

  double communication_seconds() const { return sync_.seconds() + other_seconds_; }
  int64_t floats_per_step() const { return sync_.elements(); }

 private:
  void skip_dropout(int64_t rows);
  double run_blocks(TrainTask& task, int64_t max_rows, double grad_scale, int64_t step);

  Communicator& comm_;
  GradientSync sync_;
  int64_t blocks_ = 0;
  BlockSum block_sum_;
  std::vector<Adapter<float>*> adapters_;
  int64_t T_ = 0, rows_after_ = 0;
  double other_seconds_ = 0;
  int64_t die_at_step_ = 0;  // PEFT_TEST_DIE_AT_STEP (tests): this rank kills itself there
};

}  // namespace peft
