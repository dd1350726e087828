#include "train/data_parallel.h"

#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <cstring>

#include "core/error.h"
#include "dist/shard.h"

namespace peft {

namespace {

// A hash of bytes, 8 at a time (FNV-1a's step on words): equal bytes give
// equal hashes on every machine, at memory speed for a full model.
uint64_t hash_bytes(uint64_t h, const void* data, size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    h = (h ^ w) * 1099511628211ull;
  }
  for (; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

int64_t env_step(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::atoll(v) : 0;
}

}  // namespace

DataParallel::DataParallel(Communicator& comm, const std::vector<ParamRef<float>>& params,
                           std::vector<Adapter<float>*> adapters, int64_t reduce_blocks)
    : comm_(comm), sync_(comm, params), blocks_(reduce_blocks), block_sum_(params), adapters_(std::move(adapters)) {
  if (blocks_ < 0) fail("train", "--reduce-blocks must be 0 (off) or a positive number of blocks");
  // Test hook: the rank named by PEFT_TEST_DIE_RANK (default 1) dies with
  // SIGKILL before the gradient sum of step PEFT_TEST_DIE_AT_STEP, as a
  // crashed machine would.
  const char* die_rank = std::getenv("PEFT_TEST_DIE_RANK");
  if (comm_.size() > 1 && comm_.rank() == (die_rank ? std::atoi(die_rank) : 1))
    die_at_step_ = env_step("PEFT_TEST_DIE_AT_STEP");
}

void DataParallel::skip_dropout(int64_t rows) {
  if (rows <= 0) return;
  for (Adapter<float>* a : adapters_) a->skip_dropout(rows * T_);
}

double DataParallel::run_step(TrainTask& task, int64_t micro_batches, int64_t max_rows, double grad_scale,
                              int64_t step) {
  if (blocks_ > 0 && task.splits_batches())
    fail("train", "--reduce-blocks applies to language-model training (this task splits each batch over the ranks itself)");
  if (blocks_ > 0) return run_blocks(task, max_rows, grad_scale, step);
  const int64_t local = begin_step(task, micro_batches, max_rows);
  double loss_sum = 0;
  for (int64_t a = 0; a < local; ++a) loss_sum += task.run_micro(a, grad_scale);
  return reduce(loss_sum, step);
}

double DataParallel::run_blocks(TrainTask& task, int64_t max_rows, double grad_scale, int64_t step) {
  const int64_t rows = task.step_rows();
  if (rows <= 0) task.keep_rows(0, 0, max_rows);  // refuses with the task's reason
  if (blocks_ > rows)
    fail("train", "--reduce-blocks " + std::to_string(blocks_) + " is more than the " + std::to_string(rows) +
                      " rows of a step (batch size x gradient accumulation)");
  T_ = task.row_tokens();
  const int64_t n = comm_.size(), r = comm_.rank();
  const int64_t b0 = blocks_ * r / n, b1 = blocks_ * (r + 1) / n;
  const int64_t first = rows * b0 / blocks_, last = rows * b1 / blocks_;
  skip_dropout(first);
  block_sum_.clear();
  for (int64_t b = b0; b < b1; ++b) {
    // Block b alone in the gradient buffers, then onto the tree.
    if (b > b0) task.zero_grad();
    const int64_t micro = task.keep_rows(rows * b / blocks_, rows * (b + 1) / blocks_, max_rows);
    double loss = 0;
    for (int64_t a = 0; a < micro; ++a) loss += task.run_micro(a, grad_scale);
    block_sum_.push(b, loss);
  }
  if (die_at_step_ > 0 && step == die_at_step_) raise(SIGKILL);
  const auto t0 = std::chrono::steady_clock::now();
  const double sync_before = sync_.seconds();
  const double loss = sum_over_ranks(block_sum_, comm_, sync_, blocks_);
  if (n > 1)
    other_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() -
                      (sync_.seconds() - sync_before);
  skip_dropout(rows - last);
  return loss;
}

int64_t DataParallel::begin_step(TrainTask& task, int64_t micro_batches, int64_t max_rows) {
  if (comm_.size() == 1) return micro_batches;
  if (task.splits_batches()) {  // the task shares out each micro-batch and its dropout draws
    T_ = 0;
    rows_after_ = 0;
    return micro_batches;
  }
  const int64_t total = task.step_rows();
  if (total <= 0) task.keep_rows(0, 0, max_rows);  // refuses with the task's reason
  T_ = task.row_tokens();
  const auto [first, last] = shard_range(total, comm_.rank(), comm_.size());
  skip_dropout(first);
  rows_after_ = total - last;
  return task.keep_rows(first, last, max_rows);
}

double DataParallel::reduce(double local_loss_sum, int64_t step) {
  if (comm_.size() == 1) return local_loss_sum;
  if (die_at_step_ > 0 && step == die_at_step_) raise(SIGKILL);
  sync_.allreduce();
  const auto t0 = std::chrono::steady_clock::now();
  comm_.allreduce_sum(&local_loss_sum, 1);
  other_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  skip_dropout(rows_after_);
  rows_after_ = 0;
  return local_loss_sum;
}

void DataParallel::verify_in_sync(const std::vector<std::pair<const void*, size_t>>& spans, const std::string& what) {
  if (comm_.size() == 1) return;
  uint64_t h = 1469598103934665603ull;
  for (const auto& [p, n] : spans) h = hash_bytes(h, p, n);
  uint64_t root_h = h;
  comm_.broadcast(&root_h, sizeof root_h);
  double differ = root_h != h ? 1.0 : 0.0;
  comm_.allreduce_sum(&differ, 1);
  if (differ > 0)
    fail("dist", std::to_string(static_cast<int64_t>(differ)) + " rank(s) hold " + what +
                     " that differ from rank 0's; the ranks have drifted apart (a different build or MPI "
                     "library on some machine?)");
}

}  // namespace peft
