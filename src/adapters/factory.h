// Building adapters from one run configuration: which linear layers a
// configuration targets, per-layer rank and alpha, and the errors for
// configurations that cannot work. Which methods exist, and what each one
// builds, is the registry's (registry.h).
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "adapters/lora.h"
#include "adapters/vera.h"
#include "core/adapter_slot.h"

namespace peft {

struct AdapterConfig {
  // A registered adapter method or alias (registry.h): lora, lora-fa, vera,
  // delta-lora, lora-plus (LoRA; its B learning rate is the optimizer's
  // business).
  std::string method = "lora";
  int rank = 8;
  double alpha = 8;
  double dropout = 0;
  bool rslora = false;
  std::string init = "kaiming";  // kaiming, gaussian, pissa, pissa_niter_K (LoRA-style methods)
  // Module kinds (q, k, v, o, gate, up, down; HF names q_proj … down_proj
  // are accepted too) or "all-linear". Empty with no regex: PEFT's Llama
  // default, q and v.
  std::vector<std::string> targets;
  // When set, replaces `targets`: a layer is adapted when the regex matches
  // its whole GGUF-style name (e.g. "blk\.[0-3]\.attn_[qv]").
  std::string target_regex;
  // Per-layer overrides. A key applies to a layer when it is the layer's
  // module kind (or its HF name), or when "(.*\.)?KEY" matches the whole
  // layer name (PEFT's rule), e.g. "blk.0.attn_q" or "attn_q".
  std::map<std::string, int> rank_pattern;
  std::map<std::string, double> alpha_pattern;
  uint64_t seed = 0;
  double vera_d_initial = 0.1;
  uint64_t vera_seed = 0;  // projection_prng_key
  double delta_ratio = 2;  // λ
  int64_t delta_start = 0; // K
  // LoRA-FA: project B's gradient before each optimizer step as PEFT's
  // LoRA-FA optimizer does (lora_fa.h).
  bool lora_fa_projection = false;
};

// The module kinds "all-linear" stands for (never the output head).
const std::vector<std::string>& all_linear_modules();
// "q_proj" → "q", "gate_proj" → "gate", …; other names unchanged.
std::string module_kind_alias(const std::string& name);
// A comma-separated target list as users write it ("q, v", "all-linear"):
// the names in order, spaces and empty entries dropped. Names are checked by
// validate_adapter_config, not here.
std::vector<std::string> parse_target_list(const std::string& list);
// "pissa" or "pissa_niter_K" (K a number of at most 4 digits).
bool is_pissa_init(const std::string& init);

// Checks what can be checked without the model: method, rank, dropout,
// init, target names, regex syntax, and method-specific rules. Throws
// InputError ("[adapters] …").
void validate_adapter_config(const AdapterConfig& cfg);

bool target_matches(const AdapterConfig& cfg, const LinearInfo& info);
int rank_for(const AdapterConfig& cfg, const LinearInfo& info);
double alpha_for(const AdapterConfig& cfg, const LinearInfo& info);

// For the model, after matching every linear layer: throws when none matched.
void check_targets_matched(const AdapterConfig& cfg, int64_t matched);

// True when the init changes the base weight (PiSSA): after make_adapter the
// model must call adapter->unmerge_from(W) once, turning W into W − s·BA.
bool adapter_rewrites_base(const AdapterConfig& cfg);

// The options of a LoRA-style adapter (LoRA, LoRA-FA, Delta-LoRA, LoRA+) for
// one layer: its rank and alpha after the patterns, rsLoRA, dropout, init.
// Throws when the rank exceeds min(in, out).
LoraOptions lora_options_for(const AdapterConfig& cfg, const LinearInfo& info);
// The settings every LoRA-style method reads (registry.h, MethodSpec::settings).
std::vector<std::string> lora_style_settings();

// VeRA's shared pair for a model, sized to the largest targeted layer among
// `layers`, drawn from cfg.vera_seed. Throws when nothing is targeted.
template <typename T>
std::unique_ptr<VeraShared<T>> make_vera_shared(const AdapterConfig& cfg, const std::vector<LinearInfo>& layers);

// The adapter for one targeted layer. `W` [out, in] is read by the PiSSA init
// only; `shared` is needed by VeRA only; `rng` draws the init (and seeds the
// dropout generator), in layer order. `row_perm` (may be empty): our row i
// is HF row row_perm[i]; VeRA uses it (vera.h), the LoRA-style methods ignore
// it (their lora_B rows are permuted when saved, peft_dir.h).
template <typename T>
std::unique_ptr<Adapter<T>> make_adapter(const AdapterConfig& cfg, const LinearInfo& info, const T* W,
                                         const VeraShared<T>* shared, Rng& rng,
                                         std::vector<int32_t> row_perm = {});

}  // namespace peft
