// The method registry: every method is found by its name and aliases, with
// the defaults and settings users are told about, and everything the
// trainer and the exporters ask of an adapter works for every registered
// method without knowing its class.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "adapters/registry.h"
#include "core/error.h"

namespace peft {
namespace {

std::vector<std::string> names() {
  std::vector<std::string> v;
  for (const MethodSpec* m : all_methods()) v.push_back(m->name);
  return v;
}

TEST(MethodRegistry, TheSixMethodsInTheirListedOrder) {
  // The order help texts and errors list them in.
  EXPECT_EQ(names(), (std::vector<std::string>{"full", "lora", "lora-fa", "vera", "delta-lora", "lora-plus"}));
  EXPECT_EQ(method_names(), "full, lora, lora-fa, vera, delta-lora, lora-plus");
  EXPECT_EQ(method_names(",", true), "lora,lora-fa,vera,delta-lora,lora-plus");
}

TEST(MethodRegistry, NamesAndAliasesAreUniqueAndFound) {
  std::set<std::string> seen;
  for (const MethodSpec* m : all_methods()) {
    EXPECT_TRUE(seen.insert(m->name).second) << m->name;
    EXPECT_EQ(find_method(m->name), m);
    for (const auto& a : m->aliases) {
      EXPECT_TRUE(seen.insert(a).second) << a;
      EXPECT_EQ(find_method(a), m) << a;
    }
  }
  EXPECT_EQ(find_method("lora_fa"), find_method("lora-fa"));
  EXPECT_EQ(find_method("dora"), nullptr);
  try {
    method_spec("dora");
    FAIL() << "an unknown method was accepted";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()),
              "[train] unknown method 'dora' (use one of: full, lora, lora-fa, vera, delta-lora, lora-plus)");
  }
}

TEST(MethodRegistry, DefaultsAreTheDocumentedOnes) {
  // `peft train --help`: lr 1e-4 full, 1e-2 VeRA, 2e-3 otherwise; rank 8, VeRA 256.
  for (const MethodSpec* m : all_methods()) {
    const double lr = m->name == "full" ? 1e-4 : m->name == "vera" ? 1e-2 : 2e-3;
    EXPECT_EQ(m->default_lr, lr) << m->name;
    if (!m->trains_base) {
      EXPECT_EQ(m->default_rank, m->name == "vera" ? 256 : 8) << m->name;
    }
  }
}

TEST(MethodRegistry, SettingsSayWhatEachMethodReads) {
  const std::set<std::string> known = {"rank",         "alpha",           "dropout",            "rslora",
                                       "init",         "targets",         "target-regex",       "lora-plus-ratio",
                                       "lora-fa-projection", "vera-d-initial", "vera-seed", "delta-ratio",
                                       "delta-start"};
  for (const MethodSpec* m : all_methods())
    for (const auto& s : m->settings) EXPECT_TRUE(known.count(s)) << m->name << " lists unknown setting " << s;
  EXPECT_TRUE(method_spec("full").settings.empty());
  EXPECT_TRUE(method_spec("lora-plus").uses("lora-plus-ratio"));
  EXPECT_FALSE(method_spec("lora").uses("lora-plus-ratio"));
  EXPECT_FALSE(method_spec("vera").uses("alpha"));
  EXPECT_FALSE(method_spec("vera").uses("init"));
  EXPECT_TRUE(method_spec("vera").uses("vera-seed"));
  EXPECT_TRUE(method_spec("delta-lora").uses("delta-start"));
  EXPECT_TRUE(method_spec("lora-fa").uses("lora-fa-projection"));
}

TEST(MethodRegistry, TargetListParsing) {
  EXPECT_EQ(parse_target_list("q, v,,k "), (std::vector<std::string>{"q", "v", "k"}));
  EXPECT_EQ(parse_target_list("all-linear"), (std::vector<std::string>{"all-linear"}));
  EXPECT_TRUE(parse_target_list("").empty());
  EXPECT_TRUE(parse_target_list(" , ").empty());
}

// For every adapter method: make_adapter builds it by name or alias, and its
// plain_lora() is its ΔW: scale · B A equals what merge_into adds to zeros,
// with trained (random) parameters, not the init.
TEST(MethodRegistry, EveryAdapterIsBuiltAndExportsItsExactDelta) {
  const LinearInfo info{"blk.0.attn_q", "q", 12, 10};
  for (const MethodSpec* m : all_methods()) {
    if (m->trains_base) continue;
    for (const std::string& name : [&] {
           std::vector<std::string> v{m->name};
           v.insert(v.end(), m->aliases.begin(), m->aliases.end());
           return v;
         }()) {
      AdapterConfig cfg;
      cfg.method = name;
      cfg.rank = 3;
      cfg.alpha = 5;
      std::unique_ptr<VeraShared<double>> shared;
      if (m->shared_projections) shared = make_vera_shared<double>(cfg, {info});
      Rng rng(7);
      std::vector<double> W(info.in * info.out, 0.25);
      auto a = make_adapter<double>(cfg, info, W.data(), shared.get(), rng);
      ASSERT_NE(a, nullptr);
      EXPECT_EQ(a->method(), m->name) << name;
      EXPECT_EQ(a->writes_base(), m->name == "delta-lora") << name;
      Rng fill(11);
      a->visit_params([&](ParamRef<double>& p) {
        for (int64_t i = 0; i < p.numel; ++i) p.data[i] = fill.uniform_double() - 0.5;
      });
      std::vector<double> merged(info.in * info.out, 0.0);
      a->merge_into(merged.data());
      const PlainLora<double> pl = a->plain_lora();
      ASSERT_EQ(static_cast<int64_t>(pl.A.size()), pl.rank * info.in) << name;
      ASSERT_EQ(static_cast<int64_t>(pl.B.size()), info.out * pl.rank) << name;
      double worst = 0, norm = 0;
      for (int64_t o = 0; o < info.out; ++o)
        for (int64_t i = 0; i < info.in; ++i) {
          double d = 0;
          for (int k = 0; k < pl.rank; ++k) d += pl.B[o * pl.rank + k] * pl.A[k * info.in + i];
          worst = std::max(worst, std::abs(pl.scale * d - merged[o * info.in + i]));
          norm = std::max(norm, std::abs(merged[o * info.in + i]));
        }
      EXPECT_GT(norm, 1e-3) << name << ": the filled parameters should give a nonzero delta";
      EXPECT_LT(worst, 1e-12) << name;
      // What a LoRA file records gives the same scale back.
      const double s = pl.rslora ? pl.alpha / std::sqrt(static_cast<double>(pl.rank)) : pl.alpha / pl.rank;
      EXPECT_NEAR(s, pl.scale, 1e-12) << name;
    }
  }
}

TEST(MethodRegistry, FullFineTuningIsNotAnAdapterMethod) {
  AdapterConfig cfg;
  cfg.method = "full";
  try {
    validate_adapter_config(cfg);
    FAIL() << "full was accepted as an adapter method";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("[adapters] unknown method 'full'", 0), 0u) << e.what();
  }
}

}  // namespace
}  // namespace peft
