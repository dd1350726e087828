#include "train/llm_task.h"

#include <cmath>
#include <cstdio>

#include "dist/shard.h"

namespace peft {

LlmTask::LlmTask(LlamaModel<float>& model, DataSource& train, const DataSource* eval, int64_t eval_batch,
                 int64_t eval_windows)
    : model_(model), train_(train), eval_(eval), eval_batch_(eval_batch), eval_windows_(eval_windows) {}

StepDraw LlmTask::draw_step(int64_t micro_batches, int64_t batch_size) {
  drawn_.clear();
  StepDraw d;
  for (int64_t a = 0; a < micro_batches; ++a) {
    drawn_.push_back(train_.next_batch(batch_size));
    d.count += drawn_.back().scored();
  }
  micro_ = drawn_;
  step_tokens_ = micro_batches * batch_size * train_.seq_len();
  return d;
}

int64_t LlmTask::step_rows() const {
  int64_t rows = 0;
  for (const Batch& b : drawn_) rows += b.B;
  return rows;
}

int64_t LlmTask::keep_rows(int64_t first, int64_t last, int64_t max_rows) {
  micro_ = shard_rows(drawn_, first, last, max_rows);
  return static_cast<int64_t>(micro_.size());
}

double LlmTask::run_micro(int64_t i, double grad_scale) {
  return model_.forward_backward(micro_.at(static_cast<size_t>(i)), grad_scale);
}

EvalMetrics LlmTask::evaluate() {
  EvalMetrics m;
  if (!eval_) return m;
  const int rank = comm_ ? comm_->rank() : 0, ranks = comm_ ? comm_->size() : 1;
  double acc[2] = {0, 0};  // NLL sum, scored tokens
  const std::vector<Batch> batches = eval_->eval_batches(eval_batch_, eval_windows_);
  for (size_t i = static_cast<size_t>(rank); i < batches.size(); i += static_cast<size_t>(ranks)) {
    acc[0] += model_.forward_loss(batches[i]);
    acc[1] += static_cast<double>(batches[i].scored());
  }
  if (ranks > 1) comm_->allreduce_sum(acc, 2);
  const double loss = acc[1] > 0 ? acc[0] / acc[1] : std::nan("");
  m.values = {{"eval_loss", loss}, {"eval_perplexity", std::exp(loss)}};
  char buf[96];
  std::snprintf(buf, sizeof buf, "loss %.4f, perplexity %.2f", loss, std::exp(loss));
  m.text = buf;
  return m;
}

}  // namespace peft
