// What the Trainer trains: the seam between the shared loop (optimizer,
// schedule, accumulation, checkpoints, exact resume, metrics) and what one
// kind of model does with one kind of data.
//
// Implementations: LlmTask (a LlamaModel on token batches, next-token loss,
// train/llm_task.h) and EmbeddingTask (an embedder on text pairs with a
// contrastive loss, embed/embedding_task.h).
//
// One optimizer step is: draw_step(k, B) draws k micro-batches of B rows
// (advancing the data position) and says how many items the step's loss is
// averaged over; then run_micro(i, 1/count) for i < k runs forward and
// backward of micro-batch i, accumulating count-scaled gradients, and returns
// its loss summed over its items. The step's loss is Σ sums / count. Drawing
// first lets a caller (data-parallel training) agree on the global count
// before any gradient is made.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/adapter_slot.h"
#include "data/data_source.h"
#include "dist/communicator.h"
#include "model/linear.h"

namespace peft {

// What draw_step drew.
struct StepDraw {
  int64_t count = 0;  // items the step's mean loss is over (scored tokens; micro-batches for embeddings)
};

// One evaluation: named values in the order they are reported (written to
// metrics.jsonl under these names) and the text of a log line.
struct EvalMetrics {
  std::vector<std::pair<std::string, double>> values;
  std::string text;  // e.g. "loss 2.3456, perplexity 10.45"
  bool empty() const { return values.empty(); }
  // The named value, NaN when absent.
  double get(const std::string& name) const;
};

class TrainTask {
 public:
  virtual ~TrainTask() = default;
  // Every trainable tensor (base tensors under full fine-tuning, adapters).
  virtual void visit_trainable(const ParamVisitor<float>& visit) = 0;
  // Every Linear with an adapter slot (adapter hooks and checkpoint state).
  virtual std::vector<Linear<float>*> linears() = 0;
  virtual void zero_grad() = 0;
  virtual StepDraw draw_step(int64_t micro_batches, int64_t batch_size) = 0;
  virtual double run_micro(int64_t i, double grad_scale) = 0;
  // Input tokens the last drawn step processed once its micro-batches ran
  // (throughput; text lengths are known only after tokenizing).
  virtual int64_t step_tokens() const = 0;
  // Texts the last drawn step embedded (embedding tasks; 0 when the task
  // does not count texts). Reported as texts and texts/s next to tokens.
  virtual int64_t step_texts() const { return 0; }
  // False when there is nothing to evaluate on (evaluate() is then not called).
  virtual bool has_eval() const = 0;
  virtual EvalMetrics evaluate() = 0;
  virtual DataPosition position() const = 0;
  virtual void restore(const DataPosition& p) = 0;
  // Bytes of activations the last training forward kept (0 when unknown).
  virtual int64_t last_saved_bytes() const = 0;

  // Data-parallel training (train/data_parallel.h). The processes the task
  // trains with: a task may split its evaluation over them (the default
  // evaluates everything on every rank, which is correct, only redundant).
  virtual void set_communicator(Communicator& comm) {}
  // The rows the last draw_step drew over all its micro-batches, and the
  // tokens of one row (the dropout draws one row makes); 0 rows when the
  // task's rows cannot be trained apart.
  virtual int64_t step_rows() const { return 0; }
  virtual int64_t row_tokens() const { return 0; }
  // Keeps rows [first, last) of the drawn step (rows in draw order, across
  // its micro-batches; each call selects from the whole drawn step, so a
  // caller may run one range after another), regrouped into micro-batches of at most max_rows
  // rows; returns how many micro-batches run_micro now takes. Only for a
  // task whose loss is a sum over rows (a row's gradient does not depend on
  // the other rows); the default refuses.
  virtual int64_t keep_rows(int64_t first, int64_t last, int64_t max_rows);
  // True for a task that splits each micro-batch over the ranks itself (its
  // loss couples the rows of a batch: in-batch negatives): every rank runs
  // every micro-batch, computing its own share of the work and exchanging
  // what the loss needs through the communicator, and skips the dropout
  // draws of the other ranks' shares. Its run_micro returns the loss on
  // rank 0 and 0 elsewhere (the trainer sums the losses over the ranks).
  virtual bool splits_batches() const { return false; }
};

}  // namespace peft
