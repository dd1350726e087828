// Tier 5 for the methods: each of the six methods fine-tunes the real
// stories260K model on the first 90% of tinyshakespeare and lowers the NLL
// on the last 10%; the saved output reloads to the same NLL; merging gives
// the same NLL within 1e-4. Plus exact resume.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "core/error.h"
#include "core/threads.h"
#include "data/text_windows.h"
#include "io/atomic_file.h"
#include "methods_protocol.h"
#include "test_util.h"
#include "train/apply_adapter.h"
#include "train/method.h"
#include "train/output.h"
#include "train/pretrained.h"
#include "train/trainer.h"
#include "train/training_data.h"

using namespace peft;

namespace {


struct MethodCase {
  std::string method;
  double lr;
  int rank;
  double alpha;
};

std::unique_ptr<MethodSetup> train_method(Pretrained& p, const MethodCase& mc, int64_t steps, const std::string& out,
                                          double dropout = 0) {
  AdapterConfig ac;
  ac.rank = mc.rank;
  ac.alpha = mc.alpha;
  ac.targets = {"all-linear"};
  ac.dropout = dropout;
  ac.seed = 3;
  auto s = setup_method(*p.model, mc.method, ac, true);
  TextWindows tr(test::methods_corpus().train, 128, Sampling::Random, 5);
  TrainOptions to;
  to.steps = steps;
  to.batch_size = 4;
  to.lr = mc.lr;
  to.opt.lora_plus_ratio = mc.method == "lora-plus" ? 16 : 1;
  to.progress = false;
  Trainer t(*p.model, tr, nullptr, to, {});
  t.run();
  save_training_output(p, *s, out);
  return s;
}

// Test names and failure messages show the method, not the struct's bytes.
void PrintTo(const MethodCase& m, std::ostream* os) { *os << m.method; }

class Methods : public ::testing::TestWithParam<MethodCase> {};

}  // namespace

TEST_P(Methods, LowersHeldOutNllAndReloadsAndMerges) {
  const MethodCase mc = GetParam();
  const std::string model_path = test::shared_path("models/stories260K.gguf");
  std::string dir = test::temp_dir("method-" + mc.method);
  Pretrained p = load_pretrained(model_path);
  const double before = test::methods_heldout_nll(*p.model);
  auto s = train_method(p, mc, 25, dir);
  const double after = test::methods_heldout_nll(*p.model);
  EXPECT_LT(after, before - 0.1) << mc.method << ": " << before << " -> " << after;
  // The base weights are untouched, except by full fine-tuning and Delta-LoRA.
  if (mc.method != "full" && mc.method != "delta-lora") {
    Pretrained fresh = load_pretrained(model_path);
    auto a = p.model->base_params(), b = fresh.model->base_params();
    for (size_t i = 0; i < a.size(); ++i)
      ASSERT_EQ(0, std::memcmp(a[i]->data.get(), b[i]->data.get(), sizeof(float) * a[i]->numel())) << a[i]->name;
  }

  if (mc.method == "full") {
    Pretrained re = load_pretrained(dir + "/model.gguf");
    EXPECT_EQ(test::methods_heldout_nll(*re.model), after);
    return;
  }
  // Reloaded from the PEFT folder onto a fresh base: same NLL. Delta-LoRA's
  // file is the rank-2r LoRA on the original base, equal up to rounding.
  Pretrained re = load_pretrained(model_path);
  apply_adapters(re, {AdapterSpec{dir, 1.0}});
  const double reloaded = test::methods_heldout_nll(*re.model);
  if (mc.method == "delta-lora")
    EXPECT_NEAR(reloaded, after, 1e-4);
  else
    EXPECT_EQ(reloaded, after);
  // Merged into the base weights: the same within 1e-4.
  Pretrained merged = load_pretrained(model_path);
  merge_adapter(merged, AdapterSpec{dir, 1.0});
  EXPECT_NEAR(test::methods_heldout_nll(*merged.model), after, 1e-4);
}

INSTANTIATE_TEST_SUITE_P(All, Methods,
                         ::testing::Values(MethodCase{"full", 1e-3, 0, 0}, MethodCase{"lora", 2e-3, 8, 16},
                                           MethodCase{"lora-fa", 2e-3, 8, 16}, MethodCase{"vera", 1e-2, 64, 64},
                                           MethodCase{"delta-lora", 2e-3, 8, 16}, MethodCase{"lora-plus", 2e-3, 8, 16}),
                         [](const auto& info) {
                           std::string n = info.param.method;
                           for (char& c : n)
                             if (c == '-') c = '_';
                           return n;
                         });

// A run interrupted at step 3 and resumed ends bit-identical to one that ran
// 6 steps straight: losses, adapter tensors (and dropout masks in between).
TEST(Resume, InterruptedRunEndsBitIdentical) {
  const std::string model_path = test::shared_path("models/stories260K.gguf");
  for (const MethodCase& mc : {MethodCase{"lora", 2e-3, 4, 8}, MethodCase{"delta-lora", 2e-3, 4, 8}}) {
    const double dropout = mc.method == "lora" ? 0.1 : 0.0;
    auto run = [&](int64_t steps, const std::string& out, const std::string& resume, std::vector<double>* losses,
                   int64_t save_every) {
      Pretrained p = load_pretrained(model_path);
      AdapterConfig ac;
      ac.rank = mc.rank;
      ac.alpha = mc.alpha;
      ac.targets = {"q", "v", "down"};
      ac.dropout = dropout;
      ac.seed = 9;
      auto s = setup_method(*p.model, mc.method, ac, true);
      TextWindows tr(test::methods_corpus().train, 64, Sampling::Epochs, 2);
      TrainOptions to;
      to.steps = steps;
      to.batch_size = 2;
      to.lr = mc.lr;
      to.schedule = Schedule::Cosine;
      to.warmup = 2;
      to.out_dir = out;
      to.save_every = save_every;
      to.progress = false;
      Trainer t(*p.model, tr, nullptr, to, {{"method", mc.method}, {"steps", steps}});
      if (!resume.empty()) t.load_checkpoint(resume);
      t.run();
      *losses = t.losses();
      std::vector<float> params;
      p.model->visit_trainable([&](ParamRef<float>& r) { params.insert(params.end(), r.data, r.data + r.numel); });
      return params;
    };
    // Run a goes straight through and leaves a checkpoint at step 3, exactly
    // what a run killed after step 3 would have left; run c resumes from it
    // in a fresh model, data source and trainer.
    std::string a = test::temp_dir("resume-a"), c = test::temp_dir("resume-c");
    std::vector<double> la, lc;
    auto pa = run(6, a, "", &la, 3);
    auto pc = run(6, c, a + "/checkpoint-3", &lc, 0);
    ASSERT_EQ(la.size(), 6u);
    ASSERT_EQ(lc.size(), 6u) << "resumed losses continue the saved history";
    for (int i = 0; i < 6; ++i) EXPECT_EQ(la[i], lc[i]) << mc.method << " step " << i + 1;
    ASSERT_EQ(pa.size(), pc.size());
    EXPECT_EQ(0, std::memcmp(pa.data(), pc.data(), sizeof(float) * pa.size())) << mc.method;
  }
}

TEST(Resume, RefusesAnIncompatibleConfiguration) {
  const std::string model_path = test::shared_path("models/stories260K.gguf");
  std::string dir = test::temp_dir("resume-bad");
  auto make = [&](double lr, int64_t steps) {
    auto p = std::make_unique<Pretrained>(load_pretrained(model_path));
    AdapterConfig ac;
    ac.targets = {"q", "v"};
    setup_method(*p->model, "lora", ac, true);
    return p;
  };
  TextWindows tr(test::methods_corpus().train, 32, Sampling::Epochs, 2);
  TrainOptions to;
  to.steps = 2;
  to.batch_size = 1;
  to.out_dir = dir;
  to.progress = false;
  {
    auto p = make(1e-3, 2);
    Trainer t(*p->model, tr, nullptr, to, {{"lr", 1e-3}, {"steps", 2}});
    t.run();
  }
  auto p = make(1e-3, 4);
  to.steps = 4;
  Trainer t(*p->model, tr, nullptr, to, {{"lr", 5e-3}, {"steps", 4}});
  try {
    t.load_checkpoint(dir + "/checkpoint-2");
    FAIL() << "a changed learning rate must be refused";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("'lr'"), std::string::npos) << e.what();
  }
}
