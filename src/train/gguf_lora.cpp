#include "train/gguf_lora.h"

#include "io/gguf.h"
#include "io/gguf_lora.h"
#include "io/hf_names.h"
#include "train/apply_adapter.h"
#include "train/pretrained.h"

namespace peft {

double save_gguf_lora(const std::string& path, const std::string& architecture,
                      const std::vector<GgufLoraLayer>& layers) {
  std::vector<GgufLoraTensors> tensors;
  for (const GgufLoraLayer& l : layers) {
    if (!l.adapter) continue;
    PlainLora<float> p = l.adapter->plain_lora();
    GgufLoraTensors t;
    t.name = l.info.name;
    t.in = l.info.in;
    t.out = l.info.out;
    t.rank = p.rank;
    t.scale = p.scale;
    t.A = std::move(p.A);
    t.B = std::move(p.B);
    t.gguf_rows = l.gguf_rows;
    tensors.push_back(std::move(t));
  }
  return write_gguf_lora(path, architecture, tensors);
}

GgufLoraExport export_gguf_lora(Pretrained& p, const std::string& adapter_dir, const std::string& out) {
  LoadedPeft lp = load_adapter_for(p, adapter_dir);
  const bool gguf_rows = model_rows_are_gguf(p);
  std::vector<GgufLoraLayer> layers;
  for (Linear<float>* lin : p.model->all_linears()) {
    auto it = lp.adapters.find(lin->info.name);
    if (it == lp.adapters.end()) continue;
    GgufLoraLayer l;
    l.info = lin->info;
    if (!gguf_rows && (lin->info.module == "q" || lin->info.module == "k")) {
      // HF row order → llama.cpp's: our row i (HF) sits at GGUF row inv[i].
      int64_t heads = lin->info.module == "q" ? p.model->cfg.n_heads : p.model->cfg.n_kv_heads;
      l.gguf_rows = invert_permutation(gguf_to_hf_rows(lin->info.out, heads));
    }
    l.adapter = it->second.get();
    layers.push_back(l);
  }
  const std::string arch = p.gguf ? p.gguf->get_string("general.architecture", "llama") : p.model->cfg.arch;
  GgufLoraExport r;
  r.layers = static_cast<int64_t>(layers.size());
  r.alpha = save_gguf_lora(out, arch, layers);
  return r;
}

}  // namespace peft
