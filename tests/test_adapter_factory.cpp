// The factory: target matching, per-layer rank/alpha, method dispatch and
// the one-line errors for configurations that cannot work.
#include <gtest/gtest.h>

#include "adapters/delta_lora.h"
#include "adapters/factory.h"
#include "adapters/lora.h"
#include "core/error.h"

namespace peft {
namespace {

std::vector<LinearInfo> llama_layers(int n_layers) {
  std::vector<LinearInfo> v;
  const std::pair<const char*, const char*> mods[] = {{"attn_q", "q"},    {"attn_k", "k"},   {"attn_v", "v"},
                                                       {"attn_output", "o"}, {"ffn_gate", "gate"}, {"ffn_up", "up"},
                                                       {"ffn_down", "down"}};
  for (int l = 0; l < n_layers; ++l)
    for (auto [name, kind] : mods) {
      const bool down = std::string(kind) == "down", mlp = down || std::string(kind) == "gate" ||
                                                             std::string(kind) == "up";
      const int64_t in = down ? 48 : 16, out = mlp && !down ? 48 : (std::string(kind) == "k" ? 8 : 16);
      v.push_back({"blk." + std::to_string(l) + "." + name, kind, in, out});
    }
  return v;
}

int count_matches(const AdapterConfig& c, const std::vector<LinearInfo>& layers) {
  int n = 0;
  for (const auto& l : layers) n += target_matches(c, l);
  return n;
}

void expect_error(const AdapterConfig& c, const std::string& prefix) {
  try {
    validate_adapter_config(c);
    FAIL() << "accepted; expected " << prefix;
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(prefix, 0), 0u) << e.what();
  }
}

TEST(Factory, TargetMatching) {
  auto layers = llama_layers(2);
  AdapterConfig c;
  EXPECT_EQ(count_matches(c, layers), 4);  // default q, v
  c.targets = {"all-linear"};
  EXPECT_EQ(count_matches(c, layers), 14);
  c.targets = {"q_proj", "k", "down"};
  EXPECT_EQ(count_matches(c, layers), 6);
  c.target_regex = R"(blk\.1\.(attn_q|ffn_up))";
  EXPECT_EQ(count_matches(c, layers), 2);
  EXPECT_FALSE(target_matches(c, LinearInfo{"output", "head", 16, 100}));
  c.target_regex = "";
  c.targets = {"all-linear"};
  EXPECT_FALSE(target_matches(c, LinearInfo{"output", "head", 16, 100}));
}

TEST(Factory, RankAndAlphaPatterns) {
  AdapterConfig c;
  c.rank = 4;
  c.alpha = 8;
  c.rank_pattern = {{"v", 2}, {"blk.1.attn_q", 6}};
  c.alpha_pattern = {{"attn_q", 3.0}};
  LinearInfo q0{"blk.0.attn_q", "q", 16, 16}, q1{"blk.1.attn_q", "q", 16, 16}, v0{"blk.0.attn_v", "v", 16, 16};
  EXPECT_EQ(rank_for(c, q0), 4);
  EXPECT_EQ(rank_for(c, q1), 6);
  EXPECT_EQ(rank_for(c, v0), 2);
  EXPECT_DOUBLE_EQ(alpha_for(c, q0), 3.0);
  EXPECT_DOUBLE_EQ(alpha_for(c, v0), 8.0);
  Rng rng(1);
  auto a = make_adapter<float>(c, q1, nullptr, nullptr, rng);
  auto* lora = dynamic_cast<LoraAdapter<float>*>(a.get());
  ASSERT_NE(lora, nullptr);
  EXPECT_EQ(lora->rank(), 6);
  EXPECT_DOUBLE_EQ(lora->scaling(), 3.0 / 6);
}

TEST(Factory, MakesEachMethod) {
  auto layers = llama_layers(1);
  Rng rng(2);
  for (std::string m : {"lora", "lora-fa", "vera", "delta-lora", "lora-plus"}) {
    AdapterConfig c;
    c.method = m;
    c.rank = 4;
    c.targets = {"all-linear"};
    auto shared = m == "vera" ? make_vera_shared<float>(c, layers) : nullptr;
    if (shared) {
      EXPECT_EQ(shared->max_in(), 48);
      EXPECT_EQ(shared->max_out(), 48);
      EXPECT_EQ(shared->rank(), 4);
    }
    int64_t params = 0;
    for (const auto& l : layers) {
      auto a = make_adapter<float>(c, l, nullptr, shared.get(), rng);
      EXPECT_EQ(a->method(), m);
      a->visit_params([&](ParamRef<float>& p) { params += p.numel; });
    }
    int64_t expect = 0;
    for (const auto& l : layers)
      expect += m == "vera" ? l.out + 4 : m == "lora-fa" ? 4 * l.out : 4 * (l.in + l.out);
    EXPECT_EQ(params, expect) << m;
  }
}

TEST(Factory, Errors) {
  AdapterConfig c;
  c.method = "dora";
  expect_error(c, "[adapters] unknown method 'dora'");
  c = {};
  c.rank = 0;
  expect_error(c, "[adapters] rank must be positive");
  c = {};
  c.method = "delta-lora";
  c.dropout = 0.05;
  expect_error(c, "[adapters] delta-lora: dropout must be 0");
  c = {};
  c.targets = {"q", "qq"};
  expect_error(c, "[adapters] unknown target module 'qq'");
  c = {};
  c.target_regex = "blk.(";
  expect_error(c, "[adapters] target regex");
  c = {};
  c.init = "olora";
  expect_error(c, "[adapters] unknown init 'olora'");
  c.init = "pissa_niter_x";
  expect_error(c, "[adapters] unknown init 'pissa_niter_x'");
  c.init = "pissa_niter_16";
  EXPECT_NO_THROW(validate_adapter_config(c));
  c = {};
  c.dropout = 1.0;
  expect_error(c, "[adapters] dropout must be in [0, 1)");
  // Rank larger than the layer.
  c = {};
  c.rank = 17;
  Rng rng(3);
  try {
    make_adapter<float>(c, LinearInfo{"blk.0.attn_q", "q", 16, 32}, nullptr, nullptr, rng);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("exceeds min(in, out) = 16"), std::string::npos) << e.what();
  }
  // Targets that match nothing.
  c = {};
  c.target_regex = "nothing";
  EXPECT_EQ(count_matches(c, llama_layers(1)), 0);
  try {
    check_targets_matched(c, 0);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()), "[adapters] targets regex 'nothing' match no linear layer of the model");
  }
  EXPECT_NO_THROW(check_targets_matched(c, 3));
  // VeRA with no shared pair.
  c = {};
  c.method = "vera";
  EXPECT_THROW(make_adapter<float>(c, LinearInfo{"blk.0.attn_q", "q", 16, 16}, nullptr, nullptr, rng), InputError);
}

TEST(Factory, LoraStyleIgnoresTheRowOrder) {
  AdapterConfig c;
  c.rank = 2;
  Rng rng(4);
  std::vector<int32_t> perm = {1, 0, 3, 2};
  auto a = make_adapter<float>(c, LinearInfo{"blk.0.attn_q", "q", 4, 4}, nullptr, nullptr, rng, perm);
  EXPECT_EQ(a->method(), "lora");
}

TEST(Factory, PissaRewritesTheBase) {
  AdapterConfig c;
  EXPECT_FALSE(adapter_rewrites_base(c));
  c.init = "pissa";
  EXPECT_TRUE(adapter_rewrites_base(c));
  c.method = "vera";
  EXPECT_FALSE(adapter_rewrites_base(c));
}

}  // namespace
}  // namespace peft
