#include "adapters/factory.h"

#include <algorithm>
#include <cmath>
#include <regex>
#include <type_traits>

#include "adapters/registry.h"
#include "core/error.h"

namespace peft {

namespace {

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

// The adapter method a configuration names; throws for full fine-tuning and
// unknown names.
const MethodSpec& adapter_method(const AdapterConfig& cfg) {
  const MethodSpec* m = find_method(cfg.method);
  if (!m || m->trains_base)
    fail("adapters", "unknown method '" + cfg.method + "' (" + method_names(",", /*adapters_only=*/true) + ")");
  return *m;
}

}  // namespace

bool is_pissa_init(const std::string& init) {
  if (init == "pissa") return true;
  const std::string p = "pissa_niter_";
  if (init.compare(0, p.size(), p) != 0 || init.size() == p.size() || init.size() > p.size() + 4) return false;
  return std::all_of(init.begin() + p.size(), init.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::vector<std::string> parse_target_list(const std::string& list) {
  std::vector<std::string> out;
  std::string cur;
  for (char ch : list + ",") {
    if (ch == ',') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else if (ch != ' ') {
      cur += ch;
    }
  }
  return out;
}

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
  const MethodSpec& method = adapter_method(cfg);
  if (cfg.rank <= 0) fail("adapters", "rank must be positive, got " + std::to_string(cfg.rank));
  for (const auto& [k, r] : cfg.rank_pattern)
    if (r <= 0) fail("adapters", "rank_pattern '" + k + "': rank must be positive, got " + std::to_string(r));
  if (!std::isfinite(cfg.alpha)) fail("adapters", "alpha must be finite");
  if (!(cfg.dropout >= 0 && cfg.dropout < 1))
    fail("adapters", "dropout must be in [0, 1), got " + std::to_string(cfg.dropout));
  if (method.validate) method.validate(cfg);
  if (method.uses("init") && cfg.init != "kaiming" && cfg.init != "gaussian" && !is_pissa_init(cfg.init))
    fail("adapters", "unknown init '" + cfg.init + "' (kaiming, gaussian, pissa, pissa_niter_K)");
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
  return adapter_method(cfg).uses("init") && is_pissa_init(cfg.init);
}

std::vector<std::string> lora_style_settings() {
  return {"rank", "alpha", "dropout", "rslora", "init", "targets", "target-regex"};
}

LoraOptions lora_options_for(const AdapterConfig& cfg, const LinearInfo& info) {
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
  return lo;
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
  const MethodSpec& method = adapter_method(cfg);
  if constexpr (std::is_same_v<T, float>) return method.make_f32(cfg, info, W, shared, rng, std::move(row_perm));
  else return method.make_f64(cfg, info, W, shared, rng, std::move(row_perm));
}

template std::unique_ptr<VeraShared<float>> make_vera_shared<float>(const AdapterConfig&, const std::vector<LinearInfo>&);
template std::unique_ptr<VeraShared<double>> make_vera_shared<double>(const AdapterConfig&,
                                                                      const std::vector<LinearInfo>&);
template std::unique_ptr<Adapter<float>> make_adapter<float>(const AdapterConfig&, const LinearInfo&, const float*,
                                                             const VeraShared<float>*, Rng&, std::vector<int32_t>);
template std::unique_ptr<Adapter<double>> make_adapter<double>(const AdapterConfig&, const LinearInfo&, const double*,
                                                               const VeraShared<double>*, Rng&, std::vector<int32_t>);

}  // namespace peft
