#include "embed/embedding_task.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <unordered_map>

#include "core/error.h"
#include "core/rng.h"
#include "embed/loss_matryoshka.h"

namespace peft {

EmbeddingTask::EmbeddingTask(Embedder& model, const TextExamples& data, TextExampleSampler& sampler,
                             const EmbeddingTaskOptions& o, const BeirSet* retrieval,
                             const std::vector<ScoredPair>* sts)
    : model_(model), data_(data), sampler_(sampler), o_(o), retrieval_(retrieval), sts_(sts) {
  const LossKind k = o_.loss;
  if (loss_needs_scores(k) && !data_.scored)
    fail("train", "--loss " + loss_name(k) + " needs scored pairs (sentence1, sentence2, score or STS-B); '" +
                      data_.source + "' holds " + data_.kind);
  if (!loss_needs_scores(k) && data_.scored)
    fail("train", "--loss " + loss_name(k) + " needs (anchor, positive[, negative]) texts; '" + data_.source +
                      "' holds scored pairs (use --loss cosent or cosine)");
  if (k == LossKind::Triplet && data_.columns != 3)
    fail("train", "--loss triplet needs (anchor, positive, negative) triplets; '" + data_.source + "' holds " +
                      data_.kind);
  if (o_.mini_batch <= 0) fail("train", "--mini-batch-size must be positive");
  for (int64_t d : o_.matryoshka)
    if (d > model_.dim())
      fail("train", "--matryoshka " + std::to_string(d) + " is larger than the model's " +
                        std::to_string(model_.dim()) + " dimensions");
  if (o_.dims) model_.resolve_dims(o_.dims);
}

StepDraw EmbeddingTask::draw_step(int64_t micro_batches, int64_t batch_size) {
  micro_.clear();
  for (int64_t a = 0; a < micro_batches; ++a) micro_.push_back(sampler_.next(batch_size));
  step_tokens_ = 0;
  step_texts_ = 0;
  saved_bytes_ = 0;
  for (const auto& m : micro_) step_texts_ += static_cast<int64_t>(m.size()) * data_.columns;
  return {micro_batches};
}

void EmbeddingTask::batch_texts(const std::vector<int64_t>& rows, std::vector<std::string>& texts,
                                std::vector<std::string>& prompts) const {
  const int64_t n = static_cast<int64_t>(rows.size());
  texts.clear();
  prompts.clear();
  for (int64_t c = 0; c < data_.columns; ++c)
    for (int64_t r = 0; r < n; ++r) {
      texts.push_back(data_.rows[rows[r]].texts[c]);
      // Scored pairs are symmetric: both sides get the query prompt (which
      // --prompt sets for both); pairs and triplets put the query prompt on
      // the anchors and the document prompt on everything they are compared to.
      prompts.push_back(c == 0 || data_.scored ? o_.query_prompt : o_.doc_prompt);
    }
}

double EmbeddingTask::batch_loss(const std::vector<int64_t>& rows, const float* emb, int64_t D, float* demb) const {
  const int64_t n = static_cast<int64_t>(rows.size()), C = (data_.columns - 1) * n;
  std::vector<float> labels;
  std::vector<uint8_t> exclude;
  if (data_.scored)
    for (int64_t r : rows) labels.push_back(static_cast<float>(data_.rows[r].score));
  if (o_.loss == LossKind::Mnrl || o_.loss == LossKind::CachedMnrl) {
    exclude.assign(static_cast<size_t>(n * C), 0);
    for (int64_t i = 0; i < n; ++i) {
      const TextExample& ei = data_.rows[rows[i]];
      for (int64_t j = 0; j < C; ++j) {
        if (j == i) continue;
        const int64_t col = 1 + j / n, r = j % n;
        const TextExample& ej = data_.rows[rows[r]];
        const bool same_answer = ej.texts[col] == ei.texts[1];
        const bool same_question = col == 1 && ej.texts[0] == ei.texts[0];
        exclude[i * C + j] = same_answer || same_question;
      }
    }
  }
  LossInput<float> in;
  in.emb = emb;
  in.n = n;
  in.columns = data_.columns;
  in.dims = D;
  in.labels = labels.empty() ? nullptr : labels.data();
  in.exclude = exclude.empty() ? nullptr : exclude.data();
  if (!o_.matryoshka.empty()) return matryoshka_loss(o_.loss, in, o_.matryoshka, {}, demb);
  return embedding_loss(o_.loss, in, demb);
}

double EmbeddingTask::run_micro(int64_t i, double grad_scale) {
  const std::vector<int64_t>& rows = micro_.at(static_cast<size_t>(i));
  return o_.loss == LossKind::CachedMnrl ? run_cached(rows, grad_scale) : run_plain(rows, grad_scale);
}

double EmbeddingTask::run_plain(const std::vector<int64_t>& rows, double grad_scale) {
  std::vector<std::string> texts, prompts;
  batch_texts(rows, texts, prompts);
  const int64_t D = model_.dim();
  const float* emb = model_.forward(texts, prompts, 0, true);
  step_tokens_ += model_.last_tokens();
  saved_bytes_ = std::max(saved_bytes_, model_.last_saved_bytes());
  std::vector<float> demb(texts.size() * static_cast<size_t>(D));
  const double loss = batch_loss(rows, emb, D, demb.data());
  for (float& g : demb) g = static_cast<float>(g * grad_scale);
  model_.backward(demb.data());
  return loss;
}

double EmbeddingTask::run_cached(const std::vector<int64_t>& rows, double grad_scale) {
  std::vector<std::string> texts, prompts;
  batch_texts(rows, texts, prompts);
  const int64_t N = static_cast<int64_t>(texts.size()), D = model_.dim(), M = o_.mini_batch;
  // The adapters' dropout generators, to replay each mini-batch's masks.
  std::vector<Rng*> rngs;
  for (Linear<float>* lin : model_.linears())
    if (lin->adapter)
      if (Rng* r = lin->adapter->dropout_rng()) rngs.push_back(r);
  std::vector<std::vector<std::pair<uint64_t, uint64_t>>> saved;
  // 1. Embed every mini-batch; only the embeddings are kept.
  std::vector<float> emb(static_cast<size_t>(N * D));
  for (int64_t s = 0; s < N; s += M) {
    const int64_t e = std::min(N, s + M);
    saved.emplace_back();
    for (Rng* r : rngs) saved.back().push_back({r->state0(), r->state1()});
    const std::vector<std::string> t(texts.begin() + s, texts.begin() + e), p(prompts.begin() + s, prompts.begin() + e);
    // training = true so that dropout draws the masks the second pass replays;
    // the activations it keeps are dropped by the next forward.
    const float* y = model_.forward(t, p, 0, true);
    std::memcpy(emb.data() + s * D, y, sizeof(float) * static_cast<size_t>((e - s) * D));
    step_tokens_ += model_.last_tokens();
  }
  // 2. Loss and dL/d(embeddings) on the whole batch.
  std::vector<float> demb(static_cast<size_t>(N * D));
  const double loss = batch_loss(rows, emb.data(), D, demb.data());
  for (float& g : demb) g = static_cast<float>(g * grad_scale);
  // 3. Each mini-batch again, with activations, backpropagating its slice.
  const std::vector<std::pair<uint64_t, uint64_t>> after = [&] {
    std::vector<std::pair<uint64_t, uint64_t>> a;
    for (Rng* r : rngs) a.push_back({r->state0(), r->state1()});
    return a;
  }();
  for (int64_t s = 0, k = 0; s < N; s += M, ++k) {
    const int64_t e = std::min(N, s + M);
    for (size_t r = 0; r < rngs.size(); ++r) rngs[r]->set_state(saved[k][r].first, saved[k][r].second);
    const std::vector<std::string> t(texts.begin() + s, texts.begin() + e), p(prompts.begin() + s, prompts.begin() + e);
    model_.forward(t, p, 0, true);
    saved_bytes_ = std::max(saved_bytes_, model_.last_saved_bytes() + static_cast<int64_t>(2 * sizeof(float)) * N * D);
    model_.backward(demb.data() + s * D);
  }
  for (size_t r = 0; r < rngs.size(); ++r) rngs[r]->set_state(after[r].first, after[r].second);
  return loss;
}

// The same evaluation as `peft eval` (model_eval.h), so that the numbers a
// run reports are the ones a user gets by evaluating the saved adapter:
// queries and documents with their prompts (left empty, the model's own
// query / document prompts), both sentences of an STS pair with the query
// prompt, as the trainer embeds scored pairs.
ModelEvalOptions EmbeddingTask::eval_options() const {
  ModelEvalOptions e;
  e.query_prompt = o_.query_prompt;
  e.doc_prompt = o_.doc_prompt;
  e.prompt = o_.query_prompt;
  e.batch_size = o_.eval_batch;
  e.dims = o_.dims;
  return e;
}

EvalMetrics EmbeddingTask::evaluate() {
  EvalMetrics m;
  char buf[256];
  if (retrieval_) {
    const RetrievalMetrics r = evaluate_retrieval(model_, *retrieval_, eval_options());
    m.values.insert(m.values.end(), {{"ndcg@10", r.ndcg10}, {"mrr@10", r.mrr10}, {"recall@1", r.recall1},
                                     {"recall@10", r.recall10}, {"recall@100", r.recall100}, {"map@100", r.map100}});
    std::snprintf(buf, sizeof buf, "nDCG@10 %.4f, MRR@10 %.4f, Recall@10 %.4f (%lld queries)", r.ndcg10, r.mrr10,
                  r.recall10, static_cast<long long>(r.queries));
    m.text = buf;
  }
  if (sts_) {
    const StsMetrics s = evaluate_sts(model_, *sts_, eval_options());
    m.values.insert(m.values.end(), {{"sts_spearman", s.spearman}, {"sts_pearson", s.pearson}});
    std::snprintf(buf, sizeof buf, "STS Spearman %.4f, Pearson %.4f (%lld pairs)", s.spearman, s.pearson,
                  static_cast<long long>(s.pairs));
    m.text += (m.text.empty() ? "" : "; ") + std::string(buf);
  }
  return m;
}

}  // namespace peft
