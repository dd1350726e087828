#include "train_embedding.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "adapters/registry.h"
#include "core/error.h"
#include "core/log.h"
#include "data/beir.h"
#include "data/scored_pairs.h"
#include "data/text_examples.h"
#include "dist/communicator.h"
#include "embed/embedder.h"
#include "embed/embedding_task.h"
#include "embed/embedding_output.h"
#include "embed/eval_sample.h"
#include "embed/loss.h"
#include "embed/loss_matryoshka.h"
#include "io/atomic_file.h"
#include "train/run_summary.h"
#include "train/trainer.h"

namespace peft::cli {

void check_embedding_flags(const RunSettings& o) {
  parse_loss(o.loss);
  if (!o.matryoshka.empty()) parse_matryoshka_dims(o.matryoshka);
  if (o.mini_batch <= 0) fail("train", "--mini-batch-size must be positive");
  if (!o.pooling.empty() && o.pooling != "cls" && o.pooling != "mean" && o.pooling != "last")
    fail("train", "unknown pooling '" + o.pooling + "' (use cls, mean or last)");
}

namespace {

// Queries (or STS pairs) whose embeddings embedding_eval.json records.
constexpr int64_t kEvalSampleSize = 200;

nlohmann::json metrics_json(const EvalMetrics& m) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : m.values) j[k] = v;
  return j;
}

}  // namespace

int train_embedding(RunSettings& o, const TrainCliExtras& x) {
  const std::string method = o.method;
  const AdapterConfig ac = adapter_config_of(o);
  EmbeddingTaskOptions eo;
  eo.loss = parse_loss(o.loss);
  if (!o.matryoshka.empty()) eo.matryoshka = parse_matryoshka_dims(o.matryoshka);
  eo.mini_batch = o.mini_batch;
  eo.query_prompt = o.query_prompt.empty() ? o.prompt : o.query_prompt;
  eo.doc_prompt = o.doc_prompt.empty() ? o.prompt : o.doc_prompt;

  // Data and evaluation sets before the model: a bad file fails at once.
  const TextExamples data = read_text_examples(o.data);
  log_info("data: " + std::to_string(data.rows.size()) + " " + data.kind + " examples from " + o.data);
  std::unique_ptr<BeirSet> retrieval;
  std::unique_ptr<std::vector<ScoredPair>> sts;
  if (!o.eval_retrieval.empty()) retrieval = std::make_unique<BeirSet>(read_beir_folder(o.eval_retrieval, "test"));
  if (!o.eval_sts.empty()) sts = std::make_unique<std::vector<ScoredPair>>(read_scored_pairs(o.eval_sts));

  EmbedderOptions mo;
  mo.max_length = o.max_length;
  mo.pooling = o.pooling;
  std::unique_ptr<Embedder> model = Embedder::load(o.model, mo);
  log_info(std::string("model: ") + model->kind() + " embedder (" + model->arch() + "), " +
           std::to_string(model->dim()) + " dimensions, max length " + std::to_string(model->max_length()));
  check_embedding_output(*model, method);
  auto ms = model->setup_method(method, ac);
  char share[64];
  std::snprintf(share, sizeof share, "%.4f%%", 100.0 * static_cast<double>(ms->trainable) / static_cast<double>(ms->total));
  log_info("method " + method + ": " + std::to_string(ms->trainable) + " trainable parameters of " +
           std::to_string(ms->total) + " (" + share + "); loss " + o.loss +
           (o.matryoshka.empty() ? "" : " under Matryoshka " + o.matryoshka));

  TrainOptions to = train_options_of(o, static_cast<int64_t>(data.rows.size()));
  to.save_total_limit = x.save_total_limit;
  to.resume_state = parse_resume_state(x.save_optimizer_state);
  to.log_every = o.log_every;
  to.out_dir = o.out;
  to.progress = !x.quiet;

  TextExampleSampler sampler(static_cast<int64_t>(data.rows.size()), o.seed);
  EmbeddingTask task(*model, data, sampler, eo, retrieval.get(), sts.get());
  Trainer trainer(task, to, run_record(o));
  trainer.on_save = [&](const std::string& dir) { save_embedding_output(*model, *ms, dir, eo.query_prompt, eo.doc_prompt); };
  if (!x.resume.empty()) {
    trainer.load_checkpoint(x.resume);
    log_info("resumed from " + x.resume + " at step " + std::to_string(trainer.step()));
  }
  // The report's sample (embed/eval_sample.h): drawn once, embedded before
  // and after training.
  EvalSample sample;
  if (retrieval) sample = retrieval_sample(*retrieval, kEvalSampleSize, o.seed);
  else if (sts) sample = sts_sample(*sts, kEvalSampleSize);
  nlohmann::json eval_embeddings;
  const bool has_sample = !sample.queries.empty();
  // Data-parallel (mpirun): every rank trains; rank 0 alone writes the results.
  const bool root = world().is_root();
  if (has_sample && root) eval_embeddings["before"] = embed_eval_sample(*model, sample, eo.query_prompt, eo.doc_prompt, 64);
  TrainSummary s = trainer.run();
  if (!root) return 0;
  save_embedding_output(*model, *ms, o.out, eo.query_prompt, eo.doc_prompt);
  if (has_sample) {
    eval_embeddings["after"] = embed_eval_sample(*model, sample, eo.query_prompt, eo.doc_prompt, 64);
    write_file_atomic(o.out + "/embedding_eval.json", eval_embeddings.dump() + "\n");
  }
  // What `peft report` draws the run from (train/run_summary.h), with the
  // embedding settings and the evaluations before and after.
  const std::string shape = model->is_decoder() ? model->decoder()->cfg.describe() : model->encoder()->cfg.describe();
  nlohmann::json j = run_summary(model->linears(), shape, *ms, s, trainer.step(), to.opt.lora_plus_ratio);
  // An embedding evaluation has no eval loss.
  for (const char* k : {"eval_loss_before", "eval_loss_after", "eval_perplexity_before", "eval_perplexity_after"}) j.erase(k);
  j["task"] = "embedding";
  j["loss"] = o.loss;
  j["model"] = o.model;
  j["data"] = o.data;
  j["settings"] = run_record(o);
  j["embedding_dim"] = model->dim();
  j["ranks"] = s.ranks;
  j["communication_seconds"] = s.communication_seconds;
  j["allreduce_bytes_per_step"] = s.allreduce_floats_per_step * 4;
  j["eval_before"] = metrics_json(s.eval_before);
  j["eval_after"] = metrics_json(s.eval_after);
  j["out"] = o.out;
  write_file_atomic(o.out + "/summary.json", j.dump(2) + "\n");
  if (x.json) std::printf("%s\n", j.dump().c_str());
  else
    log_info("done: " + std::to_string(trainer.step()) + " steps, " +
             std::to_string(static_cast<long>(s.tokens_per_second)) + " tokens/s, " +
             std::to_string(static_cast<long>(s.texts_per_second)) + " texts/s; output in " + o.out);
  return 0;
}

}  // namespace peft::cli
