// The adapters on a real model (stories260K, GGUF): every method starts as
// the base model, trains only its own tensors, merges to the same loss, keeps
// the bytes it promises per linear layer, and Delta-LoRA's telescoped form
// matches writing the base.
#include <gtest/gtest.h>

#include <cmath>

#include "adapters/delta_lora.h"
#include "adapters/factory.h"
#include "adapters/lora.h"
#include "io/gguf.h"
#include "io/hf_names.h"
#include "model/llama.h"
#include "test_util.h"

namespace peft {
namespace {

struct Fixture {
  std::shared_ptr<GgufFile> file;
  std::unique_ptr<LlamaModel<float>> model;
  std::unique_ptr<VeraShared<float>> shared;
  Batch batch;
};

Fixture load() {
  Fixture f;
  f.file = GgufFile::open(test::shared_path("models/stories260K.gguf"));
  f.model = load_llama_gguf<float>(*f.file);
  Rng rng(7);
  Batch& b = f.batch;
  b.B = 2;
  b.T = 24;
  for (int64_t i = 0; i < b.B * b.T; ++i) {
    b.tokens.push_back(static_cast<int32_t>(rng.below(f.model->cfg.vocab_size)));
    b.positions.push_back(static_cast<int32_t>(i % b.T));
  }
  for (int64_t i = 0; i < b.B * b.T; ++i) b.targets.push_back(i % b.T == b.T - 1 ? -1 : b.tokens[i + 1]);
  return f;
}

// Puts an adapter on every targeted linear; returns how many.
int attach(Fixture& f, const AdapterConfig& cfg) {
  std::vector<LinearInfo> infos;
  for (auto* l : f.model->all_linears()) infos.push_back(l->info);
  f.shared = cfg.method == "vera" ? make_vera_shared<float>(cfg, infos) : nullptr;
  Rng rng(cfg.seed);
  int n = 0;
  for (auto* l : f.model->all_linears()) {
    if (!target_matches(cfg, l->info)) {
      l->adapter.reset();
      continue;
    }
    std::vector<int32_t> perm;
    if (cfg.method == "vera" && (l->info.module == "q" || l->info.module == "k"))
      perm = gguf_to_hf_rows(l->info.out, l->info.module == "q" ? f.model->cfg.n_heads : f.model->cfg.n_kv_heads);
    l->adapter = make_adapter<float>(cfg, l->info, l->weight.data.get(), f.shared.get(), rng, perm);
    ++n;
  }
  check_targets_matched(cfg, n);
  return n;
}

void detach(Fixture& f) {
  for (auto* l : f.model->all_linears()) l->adapter.reset();
}

AdapterConfig config(const std::string& method) {
  AdapterConfig c;
  c.method = method;
  c.rank = method == "vera" ? 16 : 4;
  c.alpha = 8;
  c.targets = {"all-linear"};
  c.seed = 3;
  return c;
}

// One plain SGD step on whatever the model says is trainable.
void sgd_step(LlamaModel<float>& m, float lr) {
  m.visit_trainable([&](ParamRef<float>& p) {
    for (int64_t i = 0; i < p.numel; ++i) p.data[i] -= lr * p.grad[i];
  });
}

TEST(AdaptersOnStories260K, EveryMethodStartsAsTheBaseAndTrainsOnlyItsTensors) {
  Fixture f = load();
  const double base = f.model->forward_loss(f.batch);
  ASSERT_TRUE(std::isfinite(base));
  for (std::string m : {"lora", "lora-fa", "vera", "delta-lora", "lora-plus"}) {
    SCOPED_TRACE(m);
    EXPECT_EQ(attach(f, config(m)), 7 * f.model->cfg.n_layers);
    EXPECT_EQ(f.model->forward_loss(f.batch), base);
    int64_t trainable = 0;
    f.model->visit_trainable([&](ParamRef<float>& p) {
      trainable += p.numel;
      EXPECT_TRUE(p.group == "lora_A" || p.group == "lora_B" || p.group == "vera_lambda") << p.name;
      if (m == "lora-fa") {
        EXPECT_EQ(p.group, "lora_B") << p.name;
      }
    });
    EXPECT_GT(trainable, 0);
    // One step moves the loss (B or λ_b gets a gradient at init).
    f.model->zero_grad();
    f.model->forward_backward(f.batch, 1.0 / f.batch.scored());
    sgd_step(*f.model, m == "vera" ? 1.0f : 0.5f);
    EXPECT_NE(f.model->forward_loss(f.batch), base);
    detach(f);
  }
}

TEST(AdaptersOnStories260K, MergedLossEqualsUnmerged) {
  for (std::string m : {"lora", "vera", "delta-lora"}) {
    SCOPED_TRACE(m);
    Fixture f = load();
    attach(f, config(m));
    for (int step = 0; step < 2; ++step) {
      f.model->zero_grad();
      f.model->forward_backward(f.batch, 1.0 / f.batch.scored());
      sgd_step(*f.model, m == "vera" ? 1.0f : 0.5f);
      int64_t t = step + 1;
      for (auto* l : f.model->all_linears()) l->adapter->after_step(nullptr, t);  // Delta-LoRA: telescoped
    }
    const double unmerged = f.model->forward_loss(f.batch);
    for (auto* l : f.model->all_linears()) l->adapter->merge_into(l->weight.data.get());
    auto keep = std::vector<std::unique_ptr<Adapter<float>>>();
    for (auto* l : f.model->all_linears()) keep.push_back(std::move(l->adapter));
    const double merged = f.model->forward_loss(f.batch);
    EXPECT_NEAR(merged / f.batch.scored(), unmerged / f.batch.scored(), 1e-5);
  }
}

TEST(AdaptersOnStories260K, DeltaLoraTelescopedMatchesWrittenBase) {
  Fixture fw = load(), ft = load();
  AdapterConfig c = config("delta-lora");
  c.delta_start = 1;
  attach(fw, c);
  attach(ft, c);
  for (int64_t step = 1; step <= 3; ++step) {
    for (Fixture* f : {&fw, &ft}) {
      f->model->zero_grad();
      f->model->forward_backward(f->batch, 1.0 / f->batch.scored());
      sgd_step(*f->model, 0.05f);
      for (auto* l : f->model->all_linears())
        l->adapter->after_step(f == &fw ? l->weight.data.get() : nullptr, step);
    }
    // Same function of x, so the same loss up to float rounding (which the
    // following steps' gradients carry along).
    const double lw = fw.model->forward_loss(fw.batch), lt = ft.model->forward_loss(ft.batch);
    EXPECT_NEAR(lw / fw.batch.scored(), lt / ft.batch.scored(), 1e-5) << "step " << step;
  }
}

TEST(AdaptersOnStories260K, LoraFaLayersKeepROverInOfLora) {
  Fixture f = load();
  const int64_t N = f.batch.B * f.batch.T;
  std::vector<int64_t> lora_bytes;
  attach(f, config("lora"));
  f.model->forward_backward(f.batch, 1.0);  // a training forward so adapters hold their state
  for (auto* l : f.model->all_linears()) lora_bytes.push_back(l->saved_bytes(N));
  attach(f, config("lora-fa"));
  f.model->zero_grad();
  f.model->forward_backward(f.batch, 1.0);
  size_t i = 0;
  for (auto* l : f.model->all_linears()) {
    SCOPED_TRACE(l->info.name);
    EXPECT_EQ(lora_bytes[i], N * l->info.in * 4);
    EXPECT_EQ(l->saved_bytes(N) * l->info.in, lora_bytes[i] * 4);  // r = 4
    ++i;
  }
}

}  // namespace
}  // namespace peft
