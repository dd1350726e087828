#include "train/peft_dir.h"

#include <algorithm>
#include <cmath>
#include <regex>
#include <set>

#include "adapters/lora.h"
#include "adapters/registry.h"
#include "core/error.h"
#include "io/hf_names.h"

namespace peft {

namespace {

Tensor f32_tensor(const std::vector<float>& v, Shape shape) {
  Tensor t = Tensor::zeros(DType::F32, shape);
  std::copy(v.begin(), v.end(), t.mutable_ptr<float>());
  return t;
}

// HF short name for a module kind: q → q_proj.
std::string hf_kind(const std::string& kind) { return kind + "_proj"; }

// PEFT's rank_pattern / alpha_pattern rule: the key matches the end of the
// module path at a dot boundary, as a regex.
bool peft_pattern_matches(const std::string& key, const std::string& module_path) {
  try {
    return std::regex_match(module_path, std::regex("(.*\\.)?(" + key + ")"));
  } catch (const std::regex_error&) {
    fail("peft", "pattern key '" + key + "' is not a valid regular expression");
  }
}

// rows[i] of ours → HF row hf_rows[i] (identity when empty).
std::vector<float> to_hf_rows(const std::vector<float>& m, int64_t rows, int64_t cols, const PeftLayer& l) {
  if (l.hf_rows.empty()) return m;
  std::vector<float> out(m.size());
  scatter_rows(m.data(), out.data(), rows, cols, l.hf_rows);
  return out;
}
void from_hf_rows(const float* hf, float* ours, int64_t rows, int64_t cols, const PeftLayer& l) {
  for (int64_t i = 0; i < rows; ++i) {
    const int64_t j = l.hf_rows.empty() ? i : l.hf_rows[i];
    std::copy(hf + j * cols, hf + (j + 1) * cols, ours + i * cols);
  }
}

// A VeRA adapter's λ_b [out] and λ_d [r], read through the interface: its
// visit_params names them "<layer>.vera_lambda_b" and "<layer>.vera_lambda_d".
void vera_lambdas(const PeftLayer& layer, const Adapter<float>* adapter, std::vector<float>* lb,
                  std::vector<float>* ld) {
  const std::string b = layer.info.name + ".vera_lambda_b", d = layer.info.name + ".vera_lambda_d";
  bool got_b = false, got_d = false;
  // visit_params is not const (the optimizer writes through it); reading is all this does.
  const_cast<Adapter<float>*>(adapter)->visit_params([&](ParamRef<float>& p) {
    if (p.name == b) *lb = std::vector<float>(p.data, p.data + p.numel), got_b = true;
    if (p.name == d) *ld = std::vector<float>(p.data, p.data + p.numel), got_d = true;
  });
  if (!got_b || !got_d || static_cast<int64_t>(lb->size()) != layer.info.out)
    fail("peft", "layer '" + layer.info.name + "' holds a " + adapter->method() + " adapter, not vera");
}

void check_rows(const PeftLayer& l) {
  if (l.hf_rows.empty()) return;
  if (static_cast<int64_t>(l.hf_rows.size()) != l.info.out)
    fail("peft", "row order for '" + l.info.name + "' does not match its " + std::to_string(l.info.out) + " rows");
  invert_permutation(l.hf_rows);  // throws when it is not a permutation
}

}  // namespace

void save_peft_dir(const std::string& dir, const AdapterConfig& cfg,
                   const std::vector<std::pair<PeftLayer, const Adapter<float>*>>& layers,
                   const VeraShared<float>* shared, const PeftSaveOptions& opt) {
  PeftAdapterConfig pc;
  pc.base_model_name_or_path = opt.base_model_name_or_path;
  pc.task_type = opt.task_type;
  std::map<std::string, Tensor> tensors;
  std::set<std::string> kinds, paths;
  const MethodSpec& method = method_spec(cfg.method, "peft");
  if (method.peft_format == PeftFormat::None)
    fail("peft", "method '" + method.name + "' has no adapter to write as a PEFT folder");
  const bool vera = method.peft_format == PeftFormat::Vera;
  pc.peft_type = vera ? "VERA" : "LORA";
  pc.dropout = method.uses("dropout") ? cfg.dropout : 0.0;
  pc.use_rslora = cfg.rslora;
  // PEFT records the init it was created with: "gaussian" as that string, the
  // default (Kaiming A, zero B) as true. PiSSA and Delta-LoRA are saved as
  // rank-2r LoRAs on the original base, which PEFT's own conversion marks
  // true (peft_model.py, path_initial_model_for_weight_conversion).
  pc.init_lora_weights = !vera && method.peft_records_init && cfg.init == "gaussian" ? "gaussian" : "true";
  bool first = true;
  for (const auto& [layer, adapter] : layers) {
    if (!adapter) continue;
    check_rows(layer);
    const std::string path = layer.hf_module.empty() ? gguf_to_hf_module(layer.info.name) : layer.hf_module;
    kinds.insert(layer.hf_target.empty() ? hf_kind(layer.info.module) : layer.hf_target);
    paths.insert(path);
    const int64_t in = layer.info.in, out = layer.info.out;
    if (vera) {
      std::vector<float> lb, ld;
      vera_lambdas(layer, adapter, &lb, &ld);
      const int64_t r = static_cast<int64_t>(ld.size());
      tensors[peft_vera_lambda_key(path, 'b')] = f32_tensor(to_hf_rows(lb, out, 1, layer), {out});
      tensors[peft_vera_lambda_key(path, 'd')] = f32_tensor(ld, {r});
      continue;
    }
    // Any LoRA-format method writes its exact plain LoRA (Delta-LoRA and
    // PiSSA as rank 2r on the original base).
    const PlainLora<float> e = adapter->plain_lora();
    tensors[peft_lora_key(path, 'A')] = f32_tensor(e.A, {e.rank, in});
    tensors[peft_lora_key(path, 'B')] = f32_tensor(to_hf_rows(e.B, out, e.rank, layer), {out, e.rank});
    // The first layer sets r and alpha; others that differ go to the patterns
    // under their full module path (PEFT matches it at the end of the name).
    if (first) {
      pc.r = e.rank;
      pc.lora_alpha = e.alpha;
      first = false;
    }
    if (e.rank != pc.r) pc.rank_pattern[path] = e.rank;
    if (e.alpha != pc.lora_alpha) pc.alpha_pattern[path] = e.alpha;
  }
  if (paths.empty()) fail("peft", dir + ": no adapted layer to save");
  if (vera) {
    if (!shared) fail("peft", "vera: the shared projections are missing");
    pc.r = shared->rank();
    pc.projection_prng_key = static_cast<int64_t>(cfg.vera_seed);
    pc.d_initial = cfg.vera_d_initial;
    pc.save_projection = true;
    std::vector<float> A(shared->A(), shared->A() + shared->rank() * shared->max_in());
    std::vector<float> B(shared->B(), shared->B() + shared->max_out() * shared->rank());
    tensors[peft_vera_shared_key('A')] = f32_tensor(A, {shared->rank(), shared->max_in()});
    tensors[peft_vera_shared_key('B')] = f32_tensor(B, {shared->max_out(), shared->rank()});
  }
  // Targets: the module kinds, unless a regex chose the layers, in which case
  // the exact module paths (PEFT matches list entries at the end of names).
  if (cfg.target_regex.empty()) pc.target_modules.assign(kinds.begin(), kinds.end());
  else pc.target_modules.assign(paths.begin(), paths.end());
  write_peft_adapter(dir, pc, tensors);
}

LoadedPeft load_peft_dir(const std::string& dir, const std::vector<PeftLayer>& layers) {
  PeftAdapter file = PeftAdapter::open(dir);
  LoadedPeft out;
  out.config = file.config();
  const PeftAdapterConfig& pc = out.config;
  const bool vera = pc.peft_type == "VERA";
  std::set<std::string> used;
  if (!vera && pc.init_lora_weights != "true" && pc.init_lora_weights != "false" &&
      pc.init_lora_weights != "gaussian")
    fail("peft", dir + ": init_lora_weights '" + pc.init_lora_weights +
                     "' changes the base model; convert the adapter to plain LoRA first");
  if (vera) {
    const std::string ka = peft_vera_shared_key('A'), kb = peft_vera_shared_key('B');
    if (!file.has(ka) || !file.has(kb))
      fail("peft", dir + ": VeRA adapter without its projections (save_projection = false) cannot be rebuilt");
    // Shapes come from the file; rank must agree with the config.
    const Shape sa = file.shape(ka), sb = file.shape(kb);
    if (sa.size() != 2 || sb.size() != 2 || sa[0] != pc.r || sb[1] != pc.r)
      fail("peft", dir + ": vera_A " + shape_str(sa) + " and vera_B " + shape_str(sb) + " do not match r = " +
                       std::to_string(pc.r));
    Tensor A = file.tensor(ka, sa), B = file.tensor(kb, sb);
    out.shared = std::make_unique<VeraShared<float>>(
        pc.r, sa[1], sb[0], std::vector<float>(A.ptr<float>(), A.ptr<float>() + A.numel()),
        std::vector<float>(B.ptr<float>(), B.ptr<float>() + B.numel()));
    used.insert(ka);
    used.insert(kb);
  }
  Rng unused_rng(0);  // loaded adapters draw nothing that matters (no init, no dropout at inference)
  for (const auto& layer : layers) {
    std::string path;
    try {
      path = layer.hf_module.empty() ? gguf_to_hf_module(layer.info.name) : layer.hf_module;
    } catch (const InputError&) {
      continue;  // a layer PEFT files cannot name (e.g. the output head)
    }
    check_rows(layer);
    const int64_t in = layer.info.in, o = layer.info.out;
    if (vera) {
      const std::string kb = peft_vera_lambda_key(path, 'b'), kd = peft_vera_lambda_key(path, 'd');
      if (!file.has(kb) && !file.has(kd)) continue;
      Tensor lb = file.tensor(kb, {o}), ld = file.tensor(kd, {pc.r});
      VeraOptions vo;
      auto a = std::make_unique<VeraAdapter<float>>(layer.info, vo, out.shared.get(), unused_rng, layer.hf_rows);
      from_hf_rows(lb.ptr<float>(), a->lambda_b(), o, 1, layer);
      std::copy(ld.ptr<float>(), ld.ptr<float>() + pc.r, a->lambda_d());
      used.insert(kb);
      used.insert(kd);
      out.adapters[layer.info.name] = std::move(a);
      continue;
    }
    const std::string ka = peft_lora_key(path, 'A'), kb = peft_lora_key(path, 'B');
    if (!file.has(ka) && !file.has(kb)) continue;
    int rank = pc.r;
    double alpha = pc.lora_alpha;
    for (const auto& [k, r] : pc.rank_pattern)
      if (peft_pattern_matches(k, path)) {
        rank = r;
        break;
      }
    for (const auto& [k, a] : pc.alpha_pattern)
      if (peft_pattern_matches(k, path)) {
        alpha = a;
        break;
      }
    Tensor A = file.tensor(ka, {rank, in}), B = file.tensor(kb, {o, rank});
    LoraOptions lo;
    lo.rank = rank;
    lo.alpha = alpha;
    lo.rslora = pc.use_rslora;
    auto a = std::make_unique<LoraAdapter<float>>(layer.info, lo, nullptr, unused_rng);
    std::copy(A.ptr<float>(), A.ptr<float>() + A.numel(), a->A());
    from_hf_rows(B.ptr<float>(), a->B(), o, rank, layer);
    used.insert(ka);
    used.insert(kb);
    out.adapters[layer.info.name] = std::move(a);
  }
  for (const auto& k : file.keys())
    if (!used.count(k)) fail("peft", dir + ": tensor '" + k + "' matches no adapted layer of the model");
  if (out.adapters.empty()) fail("peft", dir + ": the adapter matches no layer of the model");
  return out;
}

}  // namespace peft
