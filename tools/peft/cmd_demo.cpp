// peft demo: the README's main job. No files and no downloads: it builds a
// small Llama-family model from scratch, teaches it addition from a corpus it
// generates itself, shows the loss falling and the answers getting right,
// then fine-tunes that model on subtraction with every method and prints a
// comparison table. Every run gets a folder under --out and the demo draws
// them into one report page (demo_report.h). With --pretraining it runs the
// pre-training experiment instead (demo_pretraining.h).
#include <chrono>
#include <cmath>
#include <cstdio>

#include "command.h"
#include "common.h"
#include "demo_pretraining.h"
#include "demo_report.h"
#include "core/threads.h"
#include "io/atomic_file.h"
#include "data/arithmetic.h"
#include "data/text_windows.h"
#include "model/llama.h"
#include "model/sampler.h"
#include "tokenizer/byte_tokenizer.h"
#include "train/method.h"
#include "train/run_summary.h"
#include "train/trainer.h"
#include "train/training_data.h"

namespace peft::cli {
namespace {

struct Opts {
  CommonOptions common;
  int64_t pretrain_steps = 800;
  int64_t finetune_steps = 150;
  uint64_t seed = 1;
  int max_operand = 19;
  bool skip_methods = false;
  std::string out = "peft-demo";
  bool pretraining = false;
  PretrainingOptions pre;
};

LlamaConfig demo_config() { return demo_model_config(); }

// Greedy answer to "37+58=": tokens until a newline, at most 5. The prompt
// starts with the newline that ends the previous fact, as in the corpus.
std::string answer(LlamaModel<float>& m, const ByteTokenizer& tok, const std::string& prompt) {
  std::vector<int32_t> ids = tok.encode("\n" + prompt, false);
  auto cache = m.make_cache(static_cast<int64_t>(ids.size()) + 6);
  std::vector<float> logits(m.cfg.vocab_size);
  m.forward_cached(cache, ids.data(), static_cast<int64_t>(ids.size()), logits.data());
  Sampler greedy(SamplerConfig{0.0, 0, 1.0, 0});
  std::string out;
  for (int i = 0; i < 5; ++i) {
    int32_t id = greedy.sample(logits.data(), m.cfg.vocab_size);
    if (id == '\n' || id >= 256) break;
    out.push_back(static_cast<char>(id));
    m.forward_cached(cache, &id, 1, logits.data());
  }
  return out;
}

double accuracy(LlamaModel<float>& m, const ByteTokenizer& tok, const std::vector<ArithProblem>& ps) {
  int64_t right = 0;
  for (const auto& p : ps) right += answer(m, tok, p.prompt) == p.answer;
  return static_cast<double>(right) / static_cast<double>(ps.size());
}

// Text windows over "\n"-joined problems, BOS first.
std::unique_ptr<TextWindows> windows(const std::vector<ArithProblem>& ps, const ByteTokenizer& tok, uint64_t seed,
                                     Sampling s) {
  return std::make_unique<TextWindows>(tokenize_stream(arithmetic_text(ps), tok), 64, s, seed);
}

std::string human_bytes(double b) {
  char buf[32];
  if (b >= 1 << 20)
    std::snprintf(buf, sizeof buf, "%.1f MiB", b / (1 << 20));
  else
    std::snprintf(buf, sizeof buf, "%.0f KiB", b / 1024);
  return buf;
}

std::function<int()> setup(CLI::App& app) {
  auto o = std::make_shared<Opts>();
  app.add_option("--pretrain-steps", o->pretrain_steps, "Steps of full training on addition")->check(kPositive);
  app.add_option("--finetune-steps", o->finetune_steps, "Steps of each method on subtraction")->check(kPositive);
  app.add_option("--max-operand", o->max_operand, "Largest operand of the arithmetic problems")->check(CLI::Range(1, 9999));
  app.add_option("--seed", o->seed, "Seed for the model, the corpus and the data order");
  app.add_flag("--skip-methods", o->skip_methods, "Stop after pretraining");
  app.add_option("-o,--out", o->out, "Folder for the runs and report.html");
  app.add_flag("--pretraining", o->pretraining,
               "Instead: train the model from random weights on --data with full training and with LoRA at two ranks");
  app.add_option("--data", o->pre.data, "--pretraining: the text corpus (e.g. tinyshakespeare's input.txt)");
  app.add_option("--pretraining-steps", o->pre.steps, "--pretraining: steps of each run (16 x 64 tokens each)")
      ->check(kPositive);
  app.add_option("--ranks", o->pre.ranks, "--pretraining: the LoRA ranks")->delimiter(',')->check(kPositive);
  add_common_options(app, o->common);
  return [o]() {
    apply_common_options(o->common);
    check_dir_writable(o->out, "demo");
    if (o->pretraining) {
      o->pre.out = o->out;
      o->pre.seed = o->seed;
      return run_pretraining_experiment(o->pre);
    }
    const auto t_start = std::chrono::steady_clock::now();
    ByteTokenizer tok;
    LlamaConfig cfg = demo_config();
    auto base = std::make_unique<LlamaModel<float>>(cfg);
    init_llama_random(*base, o->seed);
    std::printf("peft.cpp demo (%d threads)\n\n", num_threads());
    std::printf("1. A Llama-family model built from scratch: %s\n", cfg.describe().c_str());
    std::printf("   %lld parameters, random weights, a byte-level vocabulary.\n\n",
                static_cast<long long>(base->parameter_count()));

    // --- Pretraining on addition ------------------------------------------
    auto add_train = arithmetic_problems(ArithOp::Add, 60000, o->max_operand, o->seed * 7 + 1);
    auto add_test = arithmetic_problems(ArithOp::Add, 200, o->max_operand, o->seed * 7 + 2);
    auto train = windows(add_train, tok, o->seed, Sampling::Random);
    auto eval = windows(add_test, tok, o->seed, Sampling::Epochs);
    std::printf("2. Full training on a generated corpus of %zu addition facts (\"%s%s\", ...).\n",
                add_train.size(), add_train[0].prompt.c_str(), add_train[0].answer.c_str());
    std::printf("   Accuracy: greedy answers to 200 problems drawn apart from the corpus.\n\n");
    std::printf("   %6s  %8s  %9s  %s\n", "step", "loss", "accuracy", "sample");
    LlamaModel<float> init(cfg);  // the random start, for the update heat map
    init.copy_weights_from(*base);
    auto pre_setup = setup_method(*base, "full", AdapterConfig{}, false);
    std::vector<DemoRun> runs;
    const std::string model_text = "demo model from random weights: " + cfg.describe();
    TrainOptions to;
    to.steps = o->pretrain_steps;
    to.batch_size = 16;
    to.lr = 3e-3;
    to.schedule = Schedule::Cosine;
    to.warmup = 30;
    to.opt.max_grad_norm = 1.0;
    to.opt.weight_decay = 0.0;
    to.progress = false;
    to.eval_windows = 16;
    to.eval_every = std::max<int64_t>(1, o->pretrain_steps / 10);
    to.resume_state = ResumeState::None;  // the run folders hold metrics and summaries only
    to.out_dir = o->out + "/pretrain-addition";
    start_demo_run(to.out_dir);
    Trainer pre(*base, *train, eval.get(), to, {});
    const ArithProblem& shown = add_test[0];
    // An untrained model answers with arbitrary bytes; show those as '?'.
    auto printable = [](std::string s) {
      for (char& c : s)
        if (c < 32 || c > 126) c = '?';
      return s;
    };
    auto report = [&](int64_t step, double loss) {
      std::string a = answer(*base, tok, shown.prompt);
      std::printf("   %6lld  %8.4f  %8.1f%%  %s%s %s\n", static_cast<long long>(step), loss,
                  100 * accuracy(*base, tok, add_test), shown.prompt.c_str(), printable(a).c_str(), a == shown.answer ? "(right)" : "");
      std::fflush(stdout);
    };
    report(0, pre.evaluate());
    const int64_t every = std::max<int64_t>(1, o->pretrain_steps / 5);
    pre.on_step = [&](const StepRecord& r) {
      if (r.step % every == 0 || r.step == o->pretrain_steps) report(r.step, r.loss);
    };
    TrainSummary ps = pre.run();
    write_demo_summary(to.out_dir, "pretrain (full, addition)", *base, *pre_setup, ps, pre.step(), 1.0, model_text,
                       "generated addition facts, 64-token windows",
                       {{"lr", to.lr}, {"steps", to.steps}, {"batch_size", to.batch_size}, {"seq_len", 64},
                        {"schedule", "cosine"}, {"warmup", to.warmup}, {"seed", o->seed}});
    runs.push_back({to.out_dir, update_sizes(init, *base)});
    std::printf("\n   %lld tokens/s; eval loss %.3f -> %.3f\n\n", static_cast<long long>(ps.tokens_per_second),
                ps.eval_loss_before, ps.eval_loss_after);
    std::printf("   Samples (temperature 0.8) from BOS:\n");
    {
      auto cache = base->make_cache(40);
      std::vector<float> logits(cfg.vocab_size);
      int32_t bos = tok.bos_id();
      base->forward_cached(cache, &bos, 1, logits.data());
      Sampler s(SamplerConfig{0.8, 0, 1.0, o->seed});
      std::string text;
      for (int i = 0; i < 38; ++i) {
        int32_t id = s.sample(logits.data(), cfg.vocab_size);
        if (id >= 256) break;
        text.push_back(id == '\n' || (id >= 32 && id < 127) ? static_cast<char>(id) : '?');
        base->forward_cached(cache, &id, 1, logits.data());
      }
      std::string line;
      for (char c : text) {
        if (c == '\n') {
          if (!line.empty()) std::printf("     %s\n", line.c_str());
          line.clear();
        } else {
          line.push_back(c);
        }
      }
    }
    if (o->skip_methods) {
      std::printf("\nReport: %s\n", write_demo_report(o->out + "/report.html", runs, "peft demo", "").c_str());
      return 0;
    }

    // --- Fine-tuning on subtraction with every method ------------------------
    auto sub_train = arithmetic_problems(ArithOp::Sub, 30000, o->max_operand, o->seed * 7 + 3);
    auto sub_test = arithmetic_problems(ArithOp::Sub, 200, o->max_operand, o->seed * 7 + 4);
    std::printf("\n3. Fine-tuning that model on a new task, subtraction (\"%s%s\"), %lld steps of 16 x 64 tokens each.\n",
                sub_train[0].prompt.c_str(), sub_train[0].answer.c_str(), static_cast<long long>(o->finetune_steps));
    std::printf("   Adapters on all linear layers; memory = weights + gradients + Adam state + saved activations.\n\n");
    struct Row {
      std::string method;
      double lr;
      int rank;
      double alpha;
    };
    std::vector<Row> rows{{"full", 1e-3, 0, 0},       {"lora", 4e-3, 8, 16},     {"lora-fa", 4e-3, 8, 16},
                          {"vera", 2e-2, 64, 64},     {"delta-lora", 4e-3, 8, 16}, {"lora-plus", 2e-3, 8, 16}};
    std::printf("   %-11s %10s %8s %11s %9s %15s %15s\n", "method", "trainable", "share", "memory", "tok/s",
                "eval loss", "accuracy");
    base->set_base_trainable(false);
    for (const Row& r : rows) {
      LlamaModel<float> m(cfg);
      m.copy_weights_from(*base);
      AdapterConfig ac;
      ac.rank = r.rank;
      ac.alpha = r.alpha;
      ac.targets = {"all-linear"};
      ac.seed = o->seed;
      ac.vera_seed = o->seed;
      ac.delta_ratio = 2;
      ac.delta_start = 0;
      auto setup = setup_method(m, r.method, ac, false);
      double acc_before = accuracy(m, tok, sub_test);
      auto tr = windows(sub_train, tok, o->seed + 11, Sampling::Random);
      auto ev = windows(sub_test, tok, o->seed, Sampling::Epochs);
      TrainOptions ft = to;
      ft.steps = o->finetune_steps;
      ft.lr = r.lr;
      ft.warmup = 10;
      ft.opt.lora_plus_ratio = method_spec(r.method).uses("lora-plus-ratio") ? 16.0 : 1.0;
      ft.eval_every = std::max<int64_t>(1, o->finetune_steps / 5);
      ft.out_dir = o->out + "/" + r.method;
      start_demo_run(ft.out_dir);
      Trainer t(m, *tr, ev.get(), ft, {});
      TrainSummary s = t.run();
      nlohmann::json settings{{"lr", ft.lr}, {"steps", ft.steps}, {"batch_size", ft.batch_size}, {"seq_len", 64},
                              {"schedule", "cosine"}, {"warmup", ft.warmup}, {"seed", o->seed}};
      if (r.method != "full") settings["targets"] = "all-linear";
      if (ft.opt.lora_plus_ratio != 1.0) settings["lora_plus_ratio"] = ft.opt.lora_plus_ratio;
      if (r.method == "delta-lora") settings["delta_ratio"] = ac.delta_ratio;
      write_demo_summary(ft.out_dir, r.method, m, *setup, s, t.step(), ft.opt.lora_plus_ratio,
                         "the pretrained demo model: " + cfg.describe(), "generated subtraction facts, 64-token windows",
                         settings);
      runs.push_back({ft.out_dir, update_sizes(*base, m)});
      double acc_after = accuracy(m, tok, sub_test);
      // Memory by construction (train/run_summary.h), as the report draws it.
      const double mem = static_cast<double>(memory_split(setup->total, setup->trainable, s.saved_activation_bytes).total());
      char share[16], loss[32], accs[32];
      std::snprintf(share, sizeof share, "%.2f%%", 100.0 * setup->trainable / static_cast<double>(setup->total));
      std::snprintf(loss, sizeof loss, "%.3f -> %.3f", s.eval_loss_before, s.eval_loss_after);
      std::snprintf(accs, sizeof accs, "%3.0f%% -> %3.0f%%", 100 * acc_before, 100 * acc_after);
      std::printf("   %-11s %10lld %8s %11s %9.0f %15s %15s\n", r.method.c_str(), static_cast<long long>(setup->trainable),
                  share, human_bytes(mem).c_str(), s.tokens_per_second, loss, accs);
      std::fflush(stdout);
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
    const std::string page = write_demo_report(
        o->out + "/report.html", runs, "peft demo: one model, six ways to fine-tune it",
        "A Llama-family model built from random weights learns addition by full training (pretrain), then each "
        "method fine-tunes that model on subtraction with the same data, steps and batch size. Colours mark the "
        "method in every chart.");
    std::printf("\nReport (open in a browser): %s\n", page.c_str());
    std::printf("\nDone in %s. Next: `peft train --help`, and the README's tour on a real model.\n",
                format_duration(secs).c_str());
    return 0;
  };
}

PEFT_COMMAND("demo", "Build a model from scratch, teach it arithmetic, then compare the fine-tuning methods", setup);

}  // namespace
}  // namespace peft::cli
