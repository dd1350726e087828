// The language-model TrainTask: a LlamaModel on token batches from a
// DataSource, mean next-token NLL over the scored tokens; evaluation is the
// mean NLL (and its perplexity) over the evaluation source's windows.
#pragma once
#include <vector>

#include "core/batch.h"
#include "data/data_source.h"
#include "model/llama.h"
#include "train/train_task.h"

namespace peft {

class LlmTask : public TrainTask {
 public:
  // `eval` may be null. Evaluation uses batches of `eval_batch` rows, at most
  // `eval_windows` windows (0 = all).
  LlmTask(LlamaModel<float>& model, DataSource& train, const DataSource* eval, int64_t eval_batch,
          int64_t eval_windows);

  void visit_trainable(const ParamVisitor<float>& visit) override { model_.visit_trainable(visit); }
  std::vector<Linear<float>*> linears() override { return model_.all_linears(); }
  void zero_grad() override { model_.zero_grad(); }
  StepDraw draw_step(int64_t micro_batches, int64_t batch_size) override;
  double run_micro(int64_t i, double grad_scale) override;
  int64_t step_tokens() const override { return step_tokens_; }
  bool has_eval() const override { return eval_ != nullptr; }
  EvalMetrics evaluate() override;
  DataPosition position() const override { return train_.position(); }
  void restore(const DataPosition& p) override { train_.restore(p); }
  int64_t last_saved_bytes() const override { return model_.last_saved_bytes(); }
  // Data-parallel: rank r of N evaluates the batches r, r + N, ... and the
  // NLL sums add up; training rows are independent, so any split works.
  void set_communicator(Communicator& comm) override { comm_ = &comm; }
  int64_t step_rows() const override;
  int64_t row_tokens() const override { return drawn_.empty() ? 0 : drawn_[0].T; }
  int64_t keep_rows(int64_t first, int64_t last, int64_t max_rows) override;

 private:
  LlamaModel<float>& model_;
  DataSource& train_;
  const DataSource* eval_;
  int64_t eval_batch_, eval_windows_;
  std::vector<Batch> drawn_;  // the step as drawn
  std::vector<Batch> micro_;  // what run_micro runs: drawn_, or the rows keep_rows kept of it
  Communicator* comm_ = nullptr;  // null: evaluate everything here
  int64_t step_tokens_ = 0;
};

}  // namespace peft
