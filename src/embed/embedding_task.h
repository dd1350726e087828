// The embedding TrainTask: an Embedder (embed/embedder.h) trained on text
// tuples (data/text_examples.h) with one of the losses of embed/loss.h,
// optionally under MatryoshkaLoss, so that `peft train --task embedding`
// shares the Trainer's optimizer, schedules, accumulation, checkpoints and
// exact resume with language-model training.
//
// A micro-batch of n examples with k texts each is embedded as one batch of
// k·n texts (column c of every example together, embed/loss.h), anchors with
// the query prompt and the other texts with the document prompt. Its loss is
// the loss of the batch as sentence-transformers computes it (a mean over
// anchors, pairs or triplets; CoSENT's one value), and the step's loss is
// the mean over its micro-batches (StepDraw::count = micro-batches).
//
// Duplicate positives: in a batch drawn from BEIR qrels a query can appear
// twice (two relevant documents) and one document can be the positive of
// two rows. For MNRL, candidate j is excluded from anchor i's negatives when
// its text equals the text of i's own positive, or when j is the positive of
// another row whose anchor text equals anchor i's (another right answer to
// the same query). See LossInput::exclude.
//
// cached-mnrl (GradCache, Gao et al. 2021): the batch is embedded in
// mini-batches of --mini-batch-size texts without keeping activations
// across them; the loss and dL/d(embeddings) are computed on the whole
// batch; then each mini-batch is embedded again with activations and its
// slice of dL/d(embeddings) is backpropagated. Parameter gradients equal
// plain mnrl's on the same batch; activation memory is one mini-batch's.
// Adapter dropout masks are replayed exactly (each adapter's dropout RNG is
// saved before a mini-batch's first forward and restored before its second).
//
// Data-parallel (mpirun): each rank embeds its share of every micro-batch
// (plain: a contiguous share of its texts; cached-mnrl: a contiguous run of
// its mini-batches), the embeddings are gathered on every rank, every rank
// computes the whole batch's loss and dL/d(embeddings) and backpropagates
// its own rows; the trainer sums the parameter gradients. The result is the
// single-process one up to the order of float sums.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "data/beir.h"
#include "data/scored_pairs.h"
#include "data/text_examples.h"
#include "embed/embedder.h"
#include "embed/loss.h"
#include "embed/model_eval.h"
#include "embed/retrieval_metrics.h"
#include "train/train_task.h"

namespace peft {

struct EmbeddingTaskOptions {
  LossKind loss = LossKind::Mnrl;
  std::vector<int64_t> matryoshka;  // empty: no MatryoshkaLoss
  int64_t mini_batch = 32;          // cached-mnrl: texts per embedding forward
  std::string query_prompt, doc_prompt;  // names or literal text (Embedder::resolve_prompt)
  int64_t eval_batch = 64;          // texts per forward when evaluating
  int64_t dims = 0;                 // evaluation dims (0 = the model's); Matryoshka trains all
};

class EmbeddingTask : public TrainTask {
 public:
  // `retrieval` and `sts` (either may be null) are what evaluate() scores;
  // they and the other references must outlive the task.
  EmbeddingTask(Embedder& model, const TextExamples& data, TextExampleSampler& sampler,
                const EmbeddingTaskOptions& o, const BeirSet* retrieval, const std::vector<ScoredPair>* sts);

  void visit_trainable(const ParamVisitor<float>& visit) override { model_.visit_trainable(visit); }
  std::vector<Linear<float>*> linears() override { return model_.linears(); }
  void zero_grad() override { model_.zero_grad(); }
  StepDraw draw_step(int64_t micro_batches, int64_t batch_size) override;
  double run_micro(int64_t i, double grad_scale) override;
  int64_t step_tokens() const override { return step_tokens_; }
  int64_t step_texts() const override { return step_texts_; }
  bool has_eval() const override { return retrieval_ || sts_; }
  EvalMetrics evaluate() override;
  DataPosition position() const override { return sampler_.position(); }
  void restore(const DataPosition& p) override { sampler_.restore(p); }
  // Data-parallel: every rank runs every micro-batch and embeds its share of
  // its texts (see run_micro in embedding_task.cpp); the loss couples the
  // rows of a batch, so the rows cannot be handed out as whole examples.
  void set_communicator(Communicator& comm) override { comm_ = &comm; }
  bool splits_batches() const override { return true; }
  // The model's kept activations of the largest forward of the last step
  // (cached-mnrl: of one mini-batch, plus the batch's embeddings and their
  // gradient, which it holds across the mini-batches).
  int64_t last_saved_bytes() const override { return saved_bytes_; }

  // The loss and dL/d(embeddings) [k·n, D] of a micro-batch's embeddings,
  // with the exclusion mask of its texts (public for tests).
  double batch_loss(const std::vector<int64_t>& rows, const float* emb, int64_t D, float* demb) const;

 private:
  ModelEvalOptions eval_options() const;
  void batch_texts(const std::vector<int64_t>& rows, std::vector<std::string>& texts,
                   std::vector<std::string>& prompts) const;

  Embedder& model_;
  const TextExamples& data_;
  TextExampleSampler& sampler_;
  EmbeddingTaskOptions o_;
  const BeirSet* retrieval_;
  const std::vector<ScoredPair>* sts_;
  Communicator* comm_ = nullptr;  // null or one process: no splitting
  std::vector<std::vector<int64_t>> micro_;
  int64_t step_tokens_ = 0, step_texts_ = 0, saved_bytes_ = 0;
};

}  // namespace peft
