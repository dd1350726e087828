// Saving a model's adapters as a PEFT directory and loading them back:
// identical outputs, HF row order in the file, and the method-specific forms
// (Delta-LoRA and PiSSA as plain LoRA, VeRA with its projections).
#include <gtest/gtest.h>

#include "adapter_test_util.h"
#include "adapters/delta_lora.h"
#include "adapters/factory.h"
#include "adapters/lora.h"
#include "train/peft_dir.h"
#include "adapters/vera.h"
#include "core/error.h"
#include "io/hf_names.h"
#include "io/safetensors.h"
#include "test_util.h"

namespace peft {
namespace {

using test::random_vec;

constexpr int64_t kN = 5;

// A tiny two-layer Llama-like set: q has 2 heads of 8, k 1 head of 8.
struct Layer {
  PeftLayer pl;
  std::vector<float> W;
  std::unique_ptr<Adapter<float>> adapter;
};

std::vector<Layer> make_layers(Rng& rng) {
  std::vector<Layer> v;
  auto add = [&](const std::string& name, const std::string& kind, int64_t in, int64_t out, int64_t heads) {
    Layer l;
    l.pl.info = LinearInfo{name, kind, in, out};
    if (heads > 0) l.pl.hf_rows = gguf_to_hf_rows(out, heads);
    l.W = random_vec<float>(rng, in * out);
    v.push_back(std::move(l));
  };
  for (int b = 0; b < 2; ++b) {
    const std::string p = "blk." + std::to_string(b) + ".";
    add(p + "attn_q", "q", 16, 16, 2);
    add(p + "attn_k", "k", 16, 8, 1);
    add(p + "attn_v", "v", 16, 8, 0);
    add(p + "ffn_down", "down", 24, 16, 0);
  }
  return v;
}

std::vector<float> output(Adapter<float>* a, const std::vector<float>& W, const std::vector<float>& x,
                          const LinearInfo& info) {
  std::vector<float> y(kN * info.out);
  ops::linear_forward<float>(x.data(), W.data(), y.data(), kN, info.in, info.out);
  if (a) a->forward(x.data(), y.data(), kN, false);
  return y;
}

std::vector<PeftLayer> peft_layers(const std::vector<Layer>& ls) {
  std::vector<PeftLayer> v;
  for (const auto& l : ls) v.push_back(l.pl);
  return v;
}

std::vector<std::pair<PeftLayer, const Adapter<float>*>> to_save(const std::vector<Layer>& ls) {
  std::vector<std::pair<PeftLayer, const Adapter<float>*>> v;
  for (const auto& l : ls) v.push_back({l.pl, l.adapter.get()});
  return v;
}

// Outputs of the loaded adapters on `bases` equal the trained ones on `trained_bases`.
void expect_same_outputs(const std::vector<Layer>& ls, const LoadedPeft& loaded, Rng& rng, double tol,
                         const std::vector<std::vector<float>>* trained_bases = nullptr) {
  int matched = 0;
  for (size_t i = 0; i < ls.size(); ++i) {
    const auto& l = ls[i];
    auto x = random_vec<float>(rng, kN * l.pl.info.in);
    auto it = loaded.adapters.find(l.pl.info.name);
    ASSERT_EQ(it != loaded.adapters.end(), l.adapter != nullptr) << l.pl.info.name;
    const auto& Wt = trained_bases ? (*trained_bases)[i] : l.W;
    auto want = output(l.adapter.get(), Wt, x, l.pl.info);
    auto got = output(it == loaded.adapters.end() ? nullptr : it->second.get(), l.W, x, l.pl.info);
    for (size_t k = 0; k < want.size(); ++k) ASSERT_NEAR(got[k], want[k], tol) << l.pl.info.name;
    matched += l.adapter != nullptr;
  }
  EXPECT_GT(matched, 0);
}

TEST(PeftDir, LoraRoundTripWithHfRowOrder) {
  Rng rng(1);
  auto ls = make_layers(rng);
  AdapterConfig cfg;
  cfg.method = "lora-plus";
  cfg.rank = 4;
  cfg.alpha = 8;
  cfg.targets = {"q", "k", "v"};
  cfg.rank_pattern = {{"v", 2}};
  for (auto& l : ls) {
    if (!target_matches(cfg, l.pl.info)) continue;
    l.adapter = make_adapter<float>(cfg, l.pl.info, l.W.data(), nullptr, rng);
    auto* a = dynamic_cast<LoraAdapter<float>*>(l.adapter.get());
    auto b = random_vec<float>(rng, l.pl.info.out * a->rank());
    std::copy(b.begin(), b.end(), a->B());
  }
  const std::string dir = test::temp_dir("peft_dir_lora");
  save_peft_dir(dir, cfg, to_save(ls), nullptr, PeftSaveOptions{"stories260K", "CAUSAL_LM"});

  PeftAdapter f = PeftAdapter::open(dir);
  EXPECT_EQ(f.config().peft_type, "LORA");
  EXPECT_EQ(f.config().r, 4);
  EXPECT_EQ(f.config().target_modules, (std::vector<std::string>{"k_proj", "q_proj", "v_proj"}));
  EXPECT_EQ(f.config().rank_pattern.size(), 2u);  // both v layers, by full path
  EXPECT_EQ(f.config().rank_pattern.at("model.layers.1.self_attn.v_proj"), 2);
  // The file holds q's lora_B in HF row order.
  const auto& q = ls[0];
  auto* qa = dynamic_cast<LoraAdapter<float>*>(q.adapter.get());
  Tensor fb = f.tensor("base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight", {16, 4});
  for (int64_t i = 0; i < 16; ++i)
    for (int k = 0; k < 4; ++k) ASSERT_EQ(fb.ptr<float>()[q.pl.hf_rows[i] * 4 + k], qa->B()[i * 4 + k]);

  LoadedPeft loaded = load_peft_dir(dir, peft_layers(ls));
  EXPECT_EQ(loaded.adapters.size(), 6u);
  expect_same_outputs(ls, loaded, rng, 0.0);
}

TEST(PeftDir, DeltaLoraSavesItsRank2rLora) {
  Rng rng(2);
  auto ls = make_layers(rng);
  AdapterConfig cfg;
  cfg.method = "delta-lora";
  cfg.rank = 3;
  cfg.alpha = 6;
  cfg.targets = {"all-linear"};
  std::vector<std::vector<float>> trained;
  for (auto& l : ls) {
    l.adapter = make_adapter<float>(cfg, l.pl.info, l.W.data(), nullptr, rng);
    auto* d = dynamic_cast<DeltaLoraAdapter<float>*>(l.adapter.get());
    std::vector<float> Wt = l.W;
    for (int64_t step = 1; step <= 3; ++step) {  // pretend training, base written
      auto dA = random_vec<float>(rng, 3 * l.pl.info.in, 0.05), dB = random_vec<float>(rng, l.pl.info.out * 3, 0.05);
      for (size_t i = 0; i < dA.size(); ++i) d->A()[i] += dA[i];
      for (size_t i = 0; i < dB.size(); ++i) d->B()[i] += dB[i];
      d->after_step(Wt.data(), step);
    }
    trained.push_back(Wt);
  }
  const std::string dir = test::temp_dir("peft_dir_delta");
  save_peft_dir(dir, cfg, to_save(ls), nullptr, PeftSaveOptions{});
  LoadedPeft loaded = load_peft_dir(dir, peft_layers(ls));
  EXPECT_EQ(loaded.config.r, 6);
  EXPECT_DOUBLE_EQ(loaded.config.lora_alpha, 12);
  EXPECT_DOUBLE_EQ(loaded.config.dropout, 0);
  // Loaded on the ORIGINAL bases, it reproduces the trained model (written bases).
  expect_same_outputs(ls, loaded, rng, 1e-5, &trained);
}

TEST(PeftDir, PissaSavesAsPlainLoraOnTheOriginalBase) {
  Rng rng(3);
  auto ls = make_layers(rng);
  AdapterConfig cfg;
  cfg.rank = 2;
  cfg.alpha = 4;
  cfg.init = "pissa";
  cfg.targets = {"q", "down"};
  std::vector<std::vector<float>> residual;
  for (auto& l : ls) {
    std::vector<float> Wr = l.W;
    if (target_matches(cfg, l.pl.info)) {
      l.adapter = make_adapter<float>(cfg, l.pl.info, l.W.data(), nullptr, rng);
      ASSERT_TRUE(adapter_rewrites_base(cfg));
      l.adapter->unmerge_from(Wr.data());
      auto* a = dynamic_cast<LoraAdapter<float>*>(l.adapter.get());
      for (int64_t i = 0; i < l.pl.info.out * 2; ++i) a->B()[i] += 0.1f * (rng.uniform() - 0.5f);  // "trained"
    }
    residual.push_back(Wr);
  }
  const std::string dir = test::temp_dir("peft_dir_pissa");
  save_peft_dir(dir, cfg, to_save(ls), nullptr, PeftSaveOptions{});
  LoadedPeft loaded = load_peft_dir(dir, peft_layers(ls));
  EXPECT_EQ(loaded.config.r, 4);
  EXPECT_EQ(loaded.config.init_lora_weights, "true");
  expect_same_outputs(ls, loaded, rng, 1e-5, &residual);
}

TEST(PeftDir, VeraRoundTripWithProjectionsAndRowOrder) {
  Rng rng(4);
  auto ls = make_layers(rng);
  AdapterConfig cfg;
  cfg.method = "vera";
  cfg.rank = 5;
  cfg.vera_seed = 11;
  cfg.targets = {"q", "k", "down"};
  std::vector<LinearInfo> infos;
  for (const auto& l : ls) infos.push_back(l.pl.info);
  auto shared = make_vera_shared<float>(cfg, infos);
  for (auto& l : ls) {
    if (!target_matches(cfg, l.pl.info)) continue;
    l.adapter = make_adapter<float>(cfg, l.pl.info, l.W.data(), shared.get(), rng, l.pl.hf_rows);
    auto* v = dynamic_cast<VeraAdapter<float>*>(l.adapter.get());
    for (int64_t i = 0; i < l.pl.info.out; ++i) v->lambda_b()[i] = rng.uniform(-1, 1);
  }
  const std::string dir = test::temp_dir("peft_dir_vera");
  save_peft_dir(dir, cfg, to_save(ls), shared.get(), PeftSaveOptions{});
  PeftAdapter f = PeftAdapter::open(dir);
  EXPECT_EQ(f.config().peft_type, "VERA");
  EXPECT_TRUE(f.config().save_projection);
  EXPECT_EQ(f.config().projection_prng_key, 11);
  EXPECT_EQ(f.shape("base_model.vera_A"), (Shape{5, 24}));
  EXPECT_EQ(f.shape("base_model.vera_B"), (Shape{16, 5}));
  LoadedPeft loaded = load_peft_dir(dir, peft_layers(ls));
  EXPECT_EQ(loaded.adapters.size(), 6u);
  expect_same_outputs(ls, loaded, rng, 0.0);
}

TEST(PeftDir, ForeignOrBrokenFilesAreOneLineErrors) {
  Rng rng(5);
  auto ls = make_layers(rng);
  AdapterConfig cfg;
  cfg.rank = 2;
  cfg.targets = {"all-linear"};
  for (auto& l : ls) l.adapter = make_adapter<float>(cfg, l.pl.info, l.W.data(), nullptr, rng);
  const std::string dir = test::temp_dir("peft_dir_bad");
  save_peft_dir(dir, cfg, to_save(ls), nullptr, PeftSaveOptions{});
  auto expect_error = [&](const std::vector<PeftLayer>& model, const std::string& needle) {
    try {
      load_peft_dir(dir, model);
      FAIL() << "loaded; expected " << needle;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  // A model with one layer fewer: the file has a tensor for a layer it lacks.
  auto fewer = peft_layers(ls);
  fewer.pop_back();
  expect_error(fewer, "tensor 'base_model.model.model.layers.1.mlp.down_proj.lora_A.weight' matches no adapted layer");
  // A model whose layer is wider than the file's.
  auto wider = peft_layers(ls);
  wider[2].info.in = 20;
  expect_error(wider, "has shape [2, 16], expected [2, 20]");
  // A file for another architecture entirely.
  std::vector<PeftLayer> other = {PeftLayer{LinearInfo{"blk.7.attn_q", "q", 16, 16}, {}, {}, {}}};
  expect_error(other, "matches no adapted layer");
}

}  // namespace
}  // namespace peft
