#include "embed/embedding_task.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <tuple>
#include <unordered_map>

#include "core/error.h"
#include "core/rng.h"
#include "dist/shard.h"
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

namespace {

// One forward's share of a micro-batch: texts [begin, end) padded to at
// least T tokens (0: to the longest of them).
struct Chunk {
  int64_t begin = 0, end = 0, T = 0;
};

int64_t longest(const std::vector<int64_t>& len, int64_t b, int64_t e) {
  int64_t t = 0;
  for (int64_t i = b; i < e; ++i) t = std::max(t, len[static_cast<size_t>(i)]);
  return t;
}

}  // namespace

// One micro-batch of k·n texts, on one process or split over the ranks:
//
//   1. embed the texts in chunks; this rank embeds only its own chunks
//      (plain: one chunk per rank, its contiguous share of the texts;
//      cached-mnrl: the mini-batches, a contiguous run of them per rank);
//   2. E [k·n, D] on every rank: each rank's rows, zeros elsewhere, summed
//      over the ranks (x + 0 = x exactly, so this is an all-gather);
//   3. every rank computes the loss of the whole batch and G = dL/dE;
//   4. each rank backpropagates G's rows of its own chunks (cached-mnrl
//      embeds them again first, dropout masks replayed), so the parameter
//      gradients the trainer then sums over the ranks are Σ_chunks of the
//      chunk's share: the single-process gradient, in another sum order.
//
// Dropout: a rank pads its chunk to the length the single process pads
// that chunk to (plain: the whole batch's longest text) and skips the draws
// of the other ranks' chunks before and after its own, so every adapter
// draws the masks one process draws. The loss is returned by rank 0 only:
// the trainer sums it over the ranks.
double EmbeddingTask::run_micro(int64_t i, double grad_scale) {
  const std::vector<int64_t>& rows = micro_.at(static_cast<size_t>(i));
  std::vector<std::string> texts, prompts;
  batch_texts(rows, texts, prompts);
  const int64_t N = static_cast<int64_t>(texts.size()), D = model_.dim(), M = o_.mini_batch;
  const bool cached = o_.loss == LossKind::CachedMnrl;
  const int ranks = comm_ ? comm_->size() : 1, rank = comm_ ? comm_->rank() : 0;

  // Token counts (every rank tokenizes every text) for the chunks' padding
  // and the dropout draws of the other ranks' chunks.
  std::vector<int64_t> len;
  if (ranks > 1) {
    len = model_.token_counts(texts, prompts);
    for (int64_t l : len) step_tokens_ += l;
  }
  std::vector<Chunk> chunks;
  int64_t first = 0, last = 1;  // this rank's chunks
  if (cached) {
    for (int64_t s = 0; s < N; s += M) {
      const int64_t e = std::min(N, s + M);
      chunks.push_back({s, e, ranks > 1 ? longest(len, s, e) : 0});
    }
    std::tie(first, last) = shard_range(static_cast<int64_t>(chunks.size()), rank, ranks);
  } else if (ranks == 1) {
    chunks.push_back({0, N, 0});
  } else {
    const int64_t T = longest(len, 0, N);
    for (int r = 0; r < ranks; ++r) {
      const auto [b, e] = shard_range(N, r, ranks);
      chunks.push_back({b, e, T});
    }
    first = rank, last = rank + 1;
  }
  std::vector<Adapter<float>*> adapters;
  std::vector<Rng*> rngs;  // the adapters' dropout generators, to replay masks
  for (Linear<float>* lin : model_.linears())
    if (lin->adapter) {
      adapters.push_back(lin->adapter.get());
      if (Rng* r = lin->adapter->dropout_rng()) rngs.push_back(r);
    }
  auto skip_chunks = [&](int64_t c0, int64_t c1) {
    int64_t n = 0;  // token rows the single process runs through each adapter
    for (int64_t c = c0; c < c1; ++c) n += (chunks[c].end - chunks[c].begin) * chunks[c].T;
    if (n > 0)
      for (Adapter<float>* a : adapters) a->skip_dropout(n);
  };
  auto rng_states = [&] {
    std::vector<std::pair<uint64_t, uint64_t>> st;
    for (Rng* r : rngs) st.push_back({r->state0(), r->state1()});
    return st;
  };
  auto chunk_forward = [&](const Chunk& c) {
    const std::vector<std::string> t(texts.begin() + c.begin, texts.begin() + c.end),
        p(prompts.begin() + c.begin, prompts.begin() + c.end);
    return model_.forward(t, p, 0, true, c.T);
  };

  // 1. This rank's embeddings; rows of other ranks stay zero.
  std::vector<float> emb(static_cast<size_t>(N * D), 0.0f);
  std::vector<std::vector<std::pair<uint64_t, uint64_t>>> before;  // cached: generator states per own chunk
  skip_chunks(0, first);
  for (int64_t c = first; c < last; ++c) {
    const Chunk& ch = chunks[static_cast<size_t>(c)];
    if (ch.end == ch.begin) continue;
    before.push_back(rng_states());
    // Plain: the activations stay for step 4. Cached: training = true so
    // that dropout draws the masks the second pass replays; the activations
    // it keeps are dropped by the next forward.
    const float* y = chunk_forward(ch);
    std::memcpy(emb.data() + ch.begin * D, y, sizeof(float) * static_cast<size_t>((ch.end - ch.begin) * D));
    if (ranks == 1) step_tokens_ += model_.last_tokens();
    if (!cached) saved_bytes_ = std::max(saved_bytes_, model_.last_saved_bytes());
  }
  skip_chunks(last, static_cast<int64_t>(chunks.size()));
  if (ranks > 1) comm_->allreduce_sum(emb.data(), N * D);

  // 2-3. Loss and dL/d(embeddings) of the whole batch, on every rank.
  std::vector<float> demb(static_cast<size_t>(N * D));
  const double loss = batch_loss(rows, emb.data(), D, demb.data());
  for (float& g : demb) g = static_cast<float>(g * grad_scale);

  // 4. Backward of this rank's rows.
  if (!cached) {
    const Chunk& ch = chunks[static_cast<size_t>(first)];
    if (ch.end > ch.begin) model_.backward(demb.data() + ch.begin * D);
  } else {
    const std::vector<std::pair<uint64_t, uint64_t>> after = rng_states();
    size_t k = 0;
    for (int64_t c = first; c < last; ++c) {
      const Chunk& ch = chunks[static_cast<size_t>(c)];
      if (ch.end == ch.begin) continue;
      for (size_t r = 0; r < rngs.size(); ++r) rngs[r]->set_state(before[k][r].first, before[k][r].second);
      ++k;
      chunk_forward(ch);
      saved_bytes_ = std::max(saved_bytes_, model_.last_saved_bytes() + static_cast<int64_t>(2 * sizeof(float)) * N * D);
      model_.backward(demb.data() + ch.begin * D);
    }
    for (size_t r = 0; r < rngs.size(); ++r) rngs[r]->set_state(after[r].first, after[r].second);
  }
  return rank == 0 ? loss : 0.0;
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
