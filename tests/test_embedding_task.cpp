// The embedding TrainTask on the real stories260K model as a decoder
// embedder: cached-mnrl gives plain mnrl's loss and parameter gradients;
// duplicate positives are excluded from the negatives; every method trains
// through the shared Trainer with its invariants intact (LoRA-FA's A, VeRA's
// shared projections, the frozen base, LoRA+'s groups); and an interrupted
// embedding run resumes bit-identically.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>

#include "core/error.h"
#include "embed/embedder.h"
#include "embed/embedding_task.h"
#include "embed/loss.h"
#include "grad_check.h"
#include "test_util.h"
#include "train/trainer.h"

using namespace peft;

namespace {

std::string model_path() { return test::shared_path("models/stories260K.gguf"); }

std::unique_ptr<Embedder> load_model() {
  EmbedderOptions o;
  o.max_length = 24;
  return Embedder::load(model_path(), o);
}

TextExamples small_pairs() {
  TextExamples t;
  t.source = "inline";
  t.kind = "pairs";
  t.columns = 2;
  const char* q[][2] = {{"a cat sat on the mat", "the cat was sitting"},
                        {"the dog ran fast", "a quick dog running in the park"},
                        {"Lily liked her red ball", "a girl and a red ball"},
                        {"the sun was hot", "it was a very warm day"},
                        {"Tom ate the cake", "a boy eating cake"},
                        {"the bird sang", "a song from a little bird in the tree"},
                        {"they went to the sea", "a trip to the beach"},
                        {"the old man smiled", "a happy grandpa"}};
  for (auto& p : q) t.rows.push_back({{p[0], p[1]}, 0, 0});
  return t;
}

// Every trainable tensor's gradient, concatenated in visit order.
std::vector<float> grads(Embedder& m) {
  std::vector<float> g;
  m.visit_trainable([&](ParamRef<float>& p) { g.insert(g.end(), p.grad, p.grad + p.numel); });
  return g;
}

std::vector<float> params(Embedder& m) {
  std::vector<float> g;
  m.visit_trainable([&](ParamRef<float>& p) { g.insert(g.end(), p.data, p.data + p.numel); });
  return g;
}

// Makes every LoRA B non-zero, so A gets gradients too.
void perturb_lora_b(Embedder& m) {
  Rng rng(7);
  m.visit_trainable([&](ParamRef<float>& p) {
    if (p.group == "lora_B")
      for (int64_t i = 0; i < p.numel; ++i) p.data[i] = 0.05f * rng.normal();
  });
}

}  // namespace

TEST(EmbeddingTask, CachedMnrlEqualsMnrl) {
  const TextExamples data = small_pairs();
  auto run = [&](LossKind loss, int64_t mini, double* value) {
    auto m = load_model();
    AdapterConfig ac;
    ac.rank = 4;
    ac.alpha = 8;
    ac.targets = {"q", "v", "down"};
    auto s = m->setup_method("lora", ac);
    perturb_lora_b(*m);
    TextExampleSampler sampler(static_cast<int64_t>(data.rows.size()), 3);
    EmbeddingTaskOptions o;
    o.loss = loss;
    o.mini_batch = mini;
    EmbeddingTask task(*m, data, sampler, o, nullptr, nullptr);
    task.draw_step(1, 7);
    task.zero_grad();
    *value = task.run_micro(0, 0.5);
    return grads(*m);
  };
  double plain = 0, cached = 0;
  const std::vector<float> g0 = run(LossKind::Mnrl, 32, &plain);
  for (int64_t mini : {1, 3, 5}) {  // 14 texts: uneven last mini-batches too
    const std::vector<float> g1 = run(LossKind::CachedMnrl, mini, &cached);
    EXPECT_NEAR(cached, plain, 1e-5 * std::abs(plain)) << mini;
    ASSERT_EQ(g0.size(), g1.size());
    double norm = 0;
    for (float v : g0) norm += double(v) * v;
    EXPECT_GT(norm, 0);
    EXPECT_LT(test::rel_error(g1, g0), 1e-4) << "mini-batch " << mini;
  }
}

TEST(EmbeddingTask, DuplicatePositivesAreNotNegatives) {
  // Rows 0 and 2 ask the same query (two relevant documents); rows 1 and 3
  // share a document. The task's loss must equal mnrl with exactly those
  // candidates excluded.
  TextExamples t;
  t.columns = 2;
  t.kind = "pairs";
  t.rows = {{{"q1", "d1"}, 0, 1}, {{"q2", "d2"}, 0, 2}, {{"q1", "d3"}, 0, 3}, {{"q4", "d2"}, 0, 4}};
  auto m = load_model();
  TextExampleSampler sampler(4, 0);
  EmbeddingTask task(*m, t, sampler, {}, nullptr, nullptr);
  const int64_t n = 4, D = 5;
  Rng rng(2);
  std::vector<float> emb = test::to_float(test::random_vec(rng, 2 * n * D));
  std::vector<uint8_t> ex(n * n, 0);
  ex[0 * n + 2] = ex[2 * n + 0] = 1;  // same query: d3 answers q1 too, d1 answers row 2's q1
  ex[1 * n + 3] = ex[3 * n + 1] = 1;  // same document d2
  LossInput<float> in{emb.data(), n, 2, D, nullptr, ex.data()};
  const double want = embedding_loss(LossKind::Mnrl, in, static_cast<float*>(nullptr));
  EXPECT_NEAR(task.batch_loss({0, 1, 2, 3}, emb.data(), D, nullptr), want, 1e-6);
  in.exclude = nullptr;
  EXPECT_GT(std::abs(embedding_loss(LossKind::Mnrl, in, static_cast<float*>(nullptr)) - want), 1e-3);
}

namespace {

struct MethodRun {
  std::string method;
  double lr;
};
// How gtest prints a parameter in test names and failures.
void PrintTo(const MethodRun& m, std::ostream* os) { *os << m.method << " (lr " << m.lr << ")"; }

class EmbeddingMethods : public ::testing::TestWithParam<MethodRun> {};

// Base weights of every adapted linear, and every adapter's plain A.
std::vector<float> base_weights(Embedder& m) {
  std::vector<float> w;
  for (Linear<float>* l : m.linears()) w.insert(w.end(), l->weight.data.get(), l->weight.data.get() + l->weight.numel());
  return w;
}

std::vector<float> adapter_a(Embedder& m) {
  std::vector<float> a;
  for (Linear<float>* l : m.linears())
    if (l->adapter) {
      PlainLora<float> p = l->adapter->plain_lora();
      a.insert(a.end(), p.A.begin(), p.A.end());
    }
  return a;
}

}  // namespace

TEST_P(EmbeddingMethods, TrainsWithItsInvariants) {
  const MethodRun mr = GetParam();
  const TextExamples data = small_pairs();
  auto m = load_model();
  AdapterConfig ac;
  ac.rank = mr.method == "vera" ? 16 : 4;
  ac.alpha = ac.rank;
  ac.targets = {"q", "v", "up"};
  auto s = m->setup_method(mr.method, ac);
  const std::vector<float> w0 = base_weights(*m), a0 = adapter_a(*m), p0 = params(*m);
  TextExampleSampler sampler(static_cast<int64_t>(data.rows.size()), 1);
  EmbeddingTask task(*m, data, sampler, {}, nullptr, nullptr);
  TrainOptions to;
  to.steps = 4;
  to.batch_size = 4;
  to.lr = mr.lr;
  to.progress = false;
  to.opt.lora_plus_ratio = mr.method == "lora-plus" ? 16 : 1;
  Trainer t(task, to, {});
  t.run();
  for (double l : t.losses()) EXPECT_TRUE(std::isfinite(l));
  const std::vector<float> w1 = base_weights(*m), a1 = adapter_a(*m), p1 = params(*m);
  EXPECT_NE(0, std::memcmp(p0.data(), p1.data(), sizeof(float) * p0.size())) << "trainable tensors moved";
  const bool base_moves = mr.method == "full" || mr.method == "delta-lora";
  EXPECT_EQ(base_moves, 0 != std::memcmp(w0.data(), w1.data(), sizeof(float) * w0.size())) << mr.method;
  if (mr.method == "lora-fa") {
    ASSERT_FALSE(a0.empty());
    EXPECT_EQ(0, std::memcmp(a0.data(), a1.data(), sizeof(float) * a0.size())) << "LoRA-FA's A is frozen";
  }
  if (mr.method == "lora" || mr.method == "lora-plus") {
    EXPECT_NE(0, std::memcmp(a0.data(), a1.data(), sizeof(float) * a0.size()));
  }
  if (mr.method == "lora-plus") {
    bool saw_b = false;
    m->visit_trainable([&](ParamRef<float>& p) {
      if (p.group != "lora_B") return;
      saw_b = true;
      EXPECT_EQ(t.optimizer().lr_scale_of(p.name), 16.0) << p.name;
    });
    EXPECT_TRUE(saw_b);
  }
  if (mr.method == "vera") {
    // The shared projections exist once (not trainable), and only the
    // scaling vectors train.
    ASSERT_TRUE(s->vera);
    m->visit_trainable([&](ParamRef<float>& p) { EXPECT_EQ(p.shape.size(), 1u) << p.name; });
  }
}

INSTANTIATE_TEST_SUITE_P(All, EmbeddingMethods,
                         ::testing::Values(MethodRun{"full", 1e-3}, MethodRun{"lora", 2e-3}, MethodRun{"lora-fa", 2e-3},
                                           MethodRun{"vera", 1e-2}, MethodRun{"delta-lora", 2e-3},
                                           MethodRun{"lora-plus", 2e-3}),
                         [](const auto& info) {
                           std::string n = info.param.method;
                           for (char& c : n)
                             if (c == '-') c = '_';
                           return n;
                         });

// An embedding run stopped at step 3 and resumed from its checkpoint ends
// bit-identical to one that ran straight through (adapter dropout on).
TEST(EmbeddingTask, ResumeIsExact) {
  const TextExamples data = small_pairs();
  auto run = [&](int64_t save_every, const std::string& out, const std::string& resume, std::vector<double>* losses) {
    auto m = load_model();
    AdapterConfig ac;
    ac.rank = 4;
    ac.targets = {"q", "v"};
    ac.dropout = 0.1;
    ac.seed = 5;
    auto s = m->setup_method("lora", ac);
    TextExampleSampler sampler(static_cast<int64_t>(data.rows.size()), 4);
    EmbeddingTaskOptions eo;
    eo.loss = LossKind::CachedMnrl;
    eo.mini_batch = 3;
    EmbeddingTask task(*m, data, sampler, eo, nullptr, nullptr);
    TrainOptions to;
    to.steps = 6;
    to.batch_size = 3;  // 8 examples: epochs wrap mid-step
    to.lr = 2e-3;
    to.out_dir = out;
    to.save_every = save_every;
    to.progress = false;
    Trainer t(task, to, {{"steps", 6}});
    if (!resume.empty()) t.load_checkpoint(resume);
    t.run();
    *losses = t.losses();
    return params(*m);
  };
  const std::string a = test::temp_dir("emb-resume-a"), c = test::temp_dir("emb-resume-c");
  std::vector<double> la, lc;
  const auto pa = run(3, a, "", &la);
  const auto pc = run(0, c, a + "/checkpoint-3", &lc);
  ASSERT_EQ(la.size(), 6u);
  ASSERT_EQ(lc.size(), 6u);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(la[i], lc[i]) << "step " << i + 1;
  ASSERT_EQ(pa.size(), pc.size());
  EXPECT_EQ(0, std::memcmp(pa.data(), pc.data(), sizeof(float) * pa.size()));
}

TEST(EmbeddingTask, RefusesDataTheLossCannotUse) {
  auto m = load_model();
  const TextExamples pairs = small_pairs();
  TextExampleSampler sampler(8, 0);
  EmbeddingTaskOptions o;
  o.loss = LossKind::Cosent;
  EXPECT_THROW(EmbeddingTask(*m, pairs, sampler, o, nullptr, nullptr), InputError);
  o.loss = LossKind::Triplet;
  EXPECT_THROW(EmbeddingTask(*m, pairs, sampler, o, nullptr, nullptr), InputError);
  o.loss = LossKind::Mnrl;
  o.matryoshka = {m->dim() + 1};
  EXPECT_THROW(EmbeddingTask(*m, pairs, sampler, o, nullptr, nullptr), InputError);
}
