#include "train/update_size.h"

#include <cmath>
#include <filesystem>

#include "core/error.h"
#include "train/apply_adapter.h"
#include "train/pretrained.h"

namespace peft {

namespace {

int64_t block_of(const std::string& name) {
  // "blk.<n>.<module>"
  if (name.rfind("blk.", 0) != 0) return -1;
  const size_t dot = name.find('.', 4);
  try {
    return std::stoll(name.substr(4, dot - 4));
  } catch (...) {
    return -1;
  }
}

}  // namespace

std::vector<UpdateSize> update_sizes(LlamaModel<float>& base, LlamaModel<float>& trained) {
  std::vector<Linear<float>*> b = base.all_linears(), t = trained.all_linears();
  if (b.size() != t.size()) fail("report", "the trained model and its base differ in their layers");
  std::vector<UpdateSize> out;
  std::vector<float> w;
  for (size_t i = 0; i < b.size(); ++i) {
    Linear<float>& lb = *b[i];
    Linear<float>& lt = *t[i];
    if (lb.in() != lt.in() || lb.out() != lt.out())
      fail("report", "layer " + lt.info.name + " has another shape than in the base model");
    const size_t n = static_cast<size_t>(lb.weight.numel());
    // The effective trained weight: W_t (+ the adapter's ΔW, merged into a copy).
    w.assign(lt.weight.data.get(), lt.weight.data.get() + n);
    if (lt.adapter) lt.adapter->merge_into(w.data());
    const float* W0 = lb.weight.data.get();
    double d2 = 0, w2 = 0;
    for (size_t k = 0; k < n; ++k) {
      const double d = static_cast<double>(w[k]) - static_cast<double>(W0[k]);
      d2 += d * d;
      w2 += static_cast<double>(W0[k]) * W0[k];
    }
    if (d2 == 0 && !lt.adapter) continue;
    UpdateSize u;
    u.layer = lt.info.name;
    u.block = block_of(u.layer);
    u.module = lt.info.module;
    u.delta_norm = std::sqrt(d2);
    u.weight_norm = std::sqrt(w2);
    out.push_back(u);
  }
  return out;
}

std::vector<UpdateSize> update_sizes_of_run(const std::string& run_dir, const std::string& base) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(base, ec)) fail("report", "base model '" + base + "' not found (give it with --base)");
  Pretrained b = load_pretrained(base);
  if (fs::exists(fs::path(run_dir) / "model.gguf", ec)) {
    Pretrained t = load_pretrained((fs::path(run_dir) / "model.gguf").string());
    if (t.model->cfg.n_layers != b.model->cfg.n_layers || t.model->cfg.dim != b.model->cfg.dim)
      fail("report", "'" + run_dir + "/model.gguf' is not a fine-tune of '" + base + "' (other shape)");
    return update_sizes(*b.model, *t.model);
  }
  if (!fs::exists(fs::path(run_dir) / "adapter_config.json", ec))
    fail("report", "'" + run_dir + "' holds neither an adapter nor model.gguf");
  Pretrained t = load_pretrained(base);
  apply_adapters(t, {AdapterSpec{run_dir, 1.0}});
  return update_sizes(*b.model, *t.model);
}

}  // namespace peft
