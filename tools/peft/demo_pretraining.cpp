#include "demo_pretraining.h"

#include <chrono>
#include <cmath>
#include <cstdio>

#include "common.h"
#include "core/error.h"
#include "core/threads.h"
#include "data/text_windows.h"
#include "demo_report.h"
#include "io/atomic_file.h"
#include "model/llama.h"
#include "tokenizer/byte_tokenizer.h"
#include "train/method.h"
#include "train/trainer.h"
#include "train/training_data.h"

namespace peft::cli {

namespace {

struct Arm {
  std::string name, method;
  int rank = 0;
  double lr = 0;
};

// Mean of the last n training losses: the end of the curve without one
// batch's noise.
double tail_mean(const std::vector<double>& v, size_t n) {
  if (v.empty()) return std::nan("");
  n = std::min(n, v.size());
  double s = 0;
  for (size_t i = v.size() - n; i < v.size(); ++i) s += v[i];
  return s / static_cast<double>(n);
}

}  // namespace

int run_pretraining_experiment(const PretrainingOptions& o) {
  if (o.data.empty()) fail("demo", "--pretraining needs --data FILE (a text corpus, e.g. tinyshakespeare's input.txt)");
  if (o.ranks.empty()) fail("demo", "--ranks needs at least one rank");
  const auto t_start = std::chrono::steady_clock::now();
  const std::string text = read_file_bytes(o.data);
  if (text.size() < 20000) fail("demo", "'" + o.data + "' is too small for the experiment (at least 20 kB of text)");
  // The last tenth, from a line start, is held out for evaluation.
  size_t cut = text.find('\n', text.size() * 9 / 10);
  if (cut == std::string::npos) cut = text.size() * 9 / 10;
  ByteTokenizer tok;
  const int64_t seq = 64, batch = 16;
  TextWindows train(tokenize_stream(text.substr(0, cut), tok), seq, Sampling::Random, o.seed);
  TextWindows eval(tokenize_stream(text.substr(cut), tok), seq, Sampling::Epochs, o.seed);

  const DataPosition start = train.position();
  const LlamaConfig cfg = demo_model_config();
  LlamaModel<float> init(cfg);
  init_llama_random(init, o.seed);
  std::printf("peft.cpp demo --pretraining (%d threads)\n\n", num_threads());
  std::printf("A model from random weights (%s, %lld parameters) trained on %s\n",
              cfg.describe().c_str(), static_cast<long long>(init.parameter_count()), o.data.c_str());
  std::printf("three ways, %lld steps of %lld x %lld tokens each (%lld tokens per run):\n",
              static_cast<long long>(o.steps), static_cast<long long>(batch), static_cast<long long>(seq),
              static_cast<long long>(o.steps * batch * seq));
  std::printf("full training, and LoRA on every linear layer with embeddings and norms frozen at random.\n\n");

  std::vector<Arm> arms{{"full", "full", 0, 3e-3}};
  for (int r : o.ranks) arms.push_back({"lora-r" + std::to_string(r), "lora", r, 1e-2});
  std::vector<DemoRun> runs;
  struct Result {
    std::string name;
    int64_t trainable, total;
    double train_loss, eval_loss;
  };
  std::vector<Result> results;
  for (const Arm& a : arms) {
    LlamaModel<float> m(cfg);
    m.copy_weights_from(init);
    AdapterConfig ac;
    ac.rank = a.rank > 0 ? a.rank : 8;
    ac.alpha = 2.0 * ac.rank;
    ac.targets = {"all-linear"};
    ac.seed = o.seed;
    auto setup = setup_method(m, a.method, ac, false);
    TrainOptions to;
    to.steps = o.steps;
    to.batch_size = batch;
    to.lr = a.lr;
    to.schedule = Schedule::Cosine;
    to.warmup = std::min<int64_t>(30, o.steps / 10);
    to.opt.max_grad_norm = 1.0;
    to.opt.weight_decay = 0.0;
    to.eval_windows = 32;
    to.eval_every = std::max<int64_t>(1, o.steps / 10);
    to.progress = false;
    to.resume_state = ResumeState::None;
    to.out_dir = o.out + "/" + a.name;
    start_demo_run(to.out_dir);
    train.restore(start);  // every run sees the same windows in the same order
    Trainer t(m, train, &eval, to, {});
    std::printf("%-9s %8lld trainable (%5.1f%%):", a.name.c_str(), static_cast<long long>(setup->trainable),
                100.0 * setup->trainable / static_cast<double>(setup->total));
    std::fflush(stdout);
    const int64_t every = std::max<int64_t>(1, o.steps / 6);
    t.on_step = [&](const StepRecord& r) {
      if (r.step % every == 0) {
        std::printf(" %.2f", r.loss);
        std::fflush(stdout);
      }
    };
    TrainSummary s = t.run();
    std::printf("  -> eval %.3f\n", s.eval_loss_after);
    nlohmann::json settings{{"lr", to.lr}, {"steps", to.steps}, {"batch_size", batch}, {"seq_len", seq},
                            {"schedule", "cosine"}, {"warmup", to.warmup}, {"seed", o.seed}};
    if (a.method != "full") settings["targets"] = "all-linear";
    write_demo_summary(to.out_dir, a.name, m, *setup, s, t.step(), 1.0, "random weights: " + cfg.describe(),
                       o.data + " (first 90% train, last 10% eval), bytes", settings);
    runs.push_back({to.out_dir, update_sizes(init, m)});
    results.push_back({a.name, setup->trainable, setup->total, tail_mean(t.losses(), 20), s.eval_loss_after});
  }
  std::printf("\n%-9s %10s %8s %18s %10s\n", "run", "trainable", "share", "train loss (last 20)", "eval loss");
  for (const Result& r : results)
    std::printf("%-9s %10lld %7.1f%% %18.3f %10.3f\n", r.name.c_str(), static_cast<long long>(r.trainable),
                100.0 * r.trainable / static_cast<double>(r.total), r.train_loss, r.eval_loss);
  // The page says what this run measured, not what it was expected to show.
  std::string finals;
  for (const Result& r : results) {
    char b[96];
    std::snprintf(b, sizeof b, "%s%s %.3f", finals.empty() ? "" : ", ", r.name.c_str(), r.eval_loss);
    finals += b;
  }
  const std::string page = write_demo_report(
      o.out + "/report.html", runs, "Pre-training from random weights: full training vs LoRA",
      "The same randomly initialised model trained on the same text with the same " +
          std::to_string(o.steps * batch * seq) +
          " tokens: full training, and LoRA on every linear layer while the embeddings, norms, output head and "
          "base weights stay at their random initialisation. Final evaluation loss (nats/byte): " + finals +
          ". A low-rank update on top of random weights has little to build on, and the frozen random head "
          "bounds how far the logits can move, so the LoRA curves flatten far above full training.");
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  std::printf("\nReport (open in a browser): %s\nDone in %s.\n", page.c_str(), format_duration(secs).c_str());
  return 0;
}

}  // namespace peft::cli
