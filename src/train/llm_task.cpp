#include "train/llm_task.h"

#include <cmath>
#include <cstdio>

namespace peft {

LlmTask::LlmTask(LlamaModel<float>& model, DataSource& train, const DataSource* eval, int64_t eval_batch,
                 int64_t eval_windows)
    : model_(model), train_(train), eval_(eval), eval_batch_(eval_batch), eval_windows_(eval_windows) {}

StepDraw LlmTask::draw_step(int64_t micro_batches, int64_t batch_size) {
  micro_.clear();
  StepDraw d;
  for (int64_t a = 0; a < micro_batches; ++a) {
    micro_.push_back(train_.next_batch(batch_size));
    d.count += micro_.back().scored();
  }
  step_tokens_ = micro_batches * batch_size * train_.seq_len();
  return d;
}

double LlmTask::run_micro(int64_t i, double grad_scale) {
  return model_.forward_backward(micro_.at(static_cast<size_t>(i)), grad_scale);
}

EvalMetrics LlmTask::evaluate() {
  EvalMetrics m;
  if (!eval_) return m;
  double sum = 0;
  int64_t n = 0;
  for (const Batch& b : eval_->eval_batches(eval_batch_, eval_windows_)) {
    sum += model_.forward_loss(b);
    n += b.scored();
  }
  const double loss = n > 0 ? sum / static_cast<double>(n) : std::nan("");
  m.values = {{"eval_loss", loss}, {"eval_perplexity", std::exp(loss)}};
  char buf[96];
  std::snprintf(buf, sizeof buf, "loss %.4f, perplexity %.2f", loss, std::exp(loss));
  m.text = buf;
  return m;
}

}  // namespace peft
