#include "adapters/factory.h"

#include <algorithm>
#include <cmath>
#include <regex>

#include "adapters/delta_lora.h"
#include "adapters/lora.h"
#include "adapters/lora_fa.h"
#include "core/error.h"

namespace peft {

namespace {

const std::vector<std::string> kMethods = {"lora", "lora-fa", "vera", "delta-lora", "lora-plus"};

bool lora_style(const std::string& m) { return m != "vera"; }

// "pissa" or "pissa_niter_K" (K a number).
bool is_pissa_init(const std::string& init) {
  if (init == "pissa") return true;
  const std::string p = "pissa_niter_";
  if (init.compare(0, p.size(), p) != 0 || init.size() == p.size() || init.size() > p.size() + 4) return false;
  return std::all_of(init.begin() + p.size(), init.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ",") + x;
  return s;
}

// The module kinds a target list names; "all-linear" expands.
std::vector<std::string> target_kinds(const AdapterConfig& cfg) {
  if (cfg.targets.empty()) return {"q", "v"};
  std::vector<std::string> kinds;
  for (const auto& t : cfg.targets) {
    if (t == "all-linear") return all_linear_modules();
    kinds.push_back(module_kind_alias(t));
  }
  return kinds;
}

// PEFT's rule for rank_pattern / alpha_pattern keys, plus our module kinds.
bool pattern_key_matches(const std::string& key, const LinearInfo& info) {
  if (module_kind_alias(key) == info.module || key == info.name) return true;
  try {
    return std::regex_match(info.name, std::regex("(.*\\.)?(" + key + ")"));
  } catch (const std::regex_error&) {
    fail("adapters", "pattern key '" + key + "' is not a valid regular expression");
  }
}

}  // namespace

const std::vector<std::string>& all_linear_modules() {
  static const std::vector<std::string> kAll = {"q", "k", "v", "o", "gate", "up", "down"};
  return kAll;
}

std::string module_kind_alias(const std::string& name) {
  static const std::map<std::string, std::string> kAlias = {
      {"q_proj", "q"}, {"k_proj", "k"}, {"v_proj", "v"}, {"o_proj", "o"},
      {"gate_proj", "gate"}, {"up_proj", "up"}, {"down_proj", "down"}};
  auto it = kAlias.find(name);
  return it == kAlias.end() ? name : it->second;
}

void validate_adapter_config(const AdapterConfig& cfg) {
  if (std::find(kMethods.begin(), kMethods.end(), cfg.method) == kMethods.end())
    fail("adapters", "unknown method '" + cfg.method + "' (" + join(kMethods) + ")");
  if (cfg.rank <= 0) fail("adapters", "rank must be positive, got " + std::to_string(cfg.rank));
  for (const auto& [k, r] : cfg.rank_pattern)
    if (r <= 0) fail("adapters", "rank_pattern '" + k + "': rank must be positive, got " + std::to_string(r));
  if (!std::isfinite(cfg.alpha)) fail("adapters", "alpha must be finite");
  if (!(cfg.dropout >= 0 && cfg.dropout < 1))
    fail("adapters", "dropout must be in [0, 1), got " + std::to_string(cfg.dropout));
  if (cfg.method == "delta-lora" && cfg.dropout != 0)
    fail("adapters", "delta-lora: dropout must be 0 (the base update assumes the gradient of W equals that of BA)");
  if (lora_style(cfg.method) && cfg.init != "kaiming" && cfg.init != "gaussian" && !is_pissa_init(cfg.init))
    fail("adapters", "unknown init '" + cfg.init + "' (kaiming, gaussian, pissa, pissa_niter_K)");
  if (cfg.method == "lora-fa" && is_pissa_init(cfg.init))
    fail("adapters", "lora-fa: pissa init is not supported (A must stay random and frozen)");
  if (cfg.method == "delta-lora" && cfg.delta_start < 0) fail("adapters", "delta-lora: the start step must be >= 0");
  if (cfg.method == "delta-lora" && !std::isfinite(cfg.delta_ratio)) fail("adapters", "delta-lora: ratio must be finite");
  if (cfg.target_regex.empty()) {
    for (const auto& t : cfg.targets) {
      if (t == "all-linear") continue;
      const auto& all = all_linear_modules();
      if (std::find(all.begin(), all.end(), module_kind_alias(t)) == all.end())
        fail("adapters", "unknown target module '" + t + "' (q, k, v, o, gate, up, down, all-linear, or a regex)");
    }
  } else {
    try {
      std::regex re(cfg.target_regex);
    } catch (const std::regex_error&) {
      fail("adapters", "target regex '" + cfg.target_regex + "' is not a valid regular expression");
    }
  }
}

bool target_matches(const AdapterConfig& cfg, const LinearInfo& info) {
  if (!cfg.target_regex.empty()) {
    try {
      return std::regex_match(info.name, std::regex(cfg.target_regex));
    } catch (const std::regex_error&) {
      fail("adapters", "target regex '" + cfg.target_regex + "' is not a valid regular expression");
    }
  }
  const auto kinds = target_kinds(cfg);
  return std::find(kinds.begin(), kinds.end(), info.module) != kinds.end();
}

int rank_for(const AdapterConfig& cfg, const LinearInfo& info) {
  for (const auto& [k, r] : cfg.rank_pattern)
    if (pattern_key_matches(k, info)) return r;
  return cfg.rank;
}

double alpha_for(const AdapterConfig& cfg, const LinearInfo& info) {
  for (const auto& [k, a] : cfg.alpha_pattern)
    if (pattern_key_matches(k, info)) return a;
  return cfg.alpha;
}

void check_targets_matched(const AdapterConfig& cfg, int64_t matched) {
  if (matched > 0) return;
  const std::string what = !cfg.target_regex.empty() ? "regex '" + cfg.target_regex + "'"
                                                      : "'" + join(target_kinds(cfg)) + "'";
  fail("adapters", "targets " + what + " match no linear layer of the model");
}

bool adapter_rewrites_base(const AdapterConfig& cfg) {
  return lora_style(cfg.method) && is_pissa_init(cfg.init);
}

template <typename T>
std::unique_ptr<VeraShared<T>> make_vera_shared(const AdapterConfig& cfg, const std::vector<LinearInfo>& layers) {
  int64_t max_in = 0, max_out = 0;
  for (const auto& l : layers) {
    if (!target_matches(cfg, l)) continue;
    max_in = std::max(max_in, l.in);
    max_out = std::max(max_out, l.out);
  }
  if (max_in == 0) check_targets_matched(cfg, 0);
  return std::make_unique<VeraShared<T>>(cfg.rank, max_in, max_out, cfg.vera_seed);
}

template <typename T>
std::unique_ptr<Adapter<T>> make_adapter(const AdapterConfig& cfg, const LinearInfo& info, const T* W,
                                         const VeraShared<T>* shared, Rng& rng, std::vector<int32_t> row_perm) {
  validate_adapter_config(cfg);
  if (cfg.method == "vera") {
    if (!shared) fail("adapters", "vera: no shared projections were made for the model");
    VeraOptions vo;
    vo.dropout = cfg.dropout;
    vo.d_initial = cfg.vera_d_initial;
    return std::make_unique<VeraAdapter<T>>(info, vo, shared, rng, std::move(row_perm));
  }
  // row_perm is ignored here: LoRA-style rows are permuted when saved (peft_dir.h).
  LoraOptions lo;
  lo.rank = rank_for(cfg, info);
  // A trained LoRA of larger rank than the layer is legal (a loaded rank-2r
  // export can be), but choosing one is a mistake: ΔW cannot use the extra rank.
  if (lo.rank > std::min(info.in, info.out))
    fail("adapters", "layer '" + info.name + "': rank " + std::to_string(lo.rank) + " exceeds min(in, out) = " +
                         std::to_string(std::min(info.in, info.out)));
  lo.alpha = alpha_for(cfg, info);
  lo.rslora = cfg.rslora;
  lo.dropout = cfg.dropout;
  lo.init = cfg.init;
  if (cfg.method == "lora-fa") return std::make_unique<LoraFaAdapter<T>>(info, lo, W, rng);
  if (cfg.method == "delta-lora") {
    DeltaLoraOptions d;
    d.ratio = cfg.delta_ratio;
    d.start = cfg.delta_start;
    return std::make_unique<DeltaLoraAdapter<T>>(info, lo, d, W, rng);
  }
  auto a = std::make_unique<LoraAdapter<T>>(info, lo, W, rng);
  a->set_method_name(cfg.method);
  return a;
}

template std::unique_ptr<VeraShared<float>> make_vera_shared<float>(const AdapterConfig&, const std::vector<LinearInfo>&);
template std::unique_ptr<VeraShared<double>> make_vera_shared<double>(const AdapterConfig&,
                                                                      const std::vector<LinearInfo>&);
template std::unique_ptr<Adapter<float>> make_adapter<float>(const AdapterConfig&, const LinearInfo&, const float*,
                                                             const VeraShared<float>*, Rng&, std::vector<int32_t>);
template std::unique_ptr<Adapter<double>> make_adapter<double>(const AdapterConfig&, const LinearInfo&, const double*,
                                                               const VeraShared<double>*, Rng&, std::vector<int32_t>);

}  // namespace peft
