// peft export: write a PEFT adapter as a llama.cpp LoRA GGUF.
#include "adapters/gguf_lora.h"
#include "command.h"
#include "common.h"
#include "core/error.h"
#include "core/log.h"
#include "io/atomic_file.h"
#include "io/hf_names.h"
#include "train/apply_adapter.h"
#include "train/pretrained.h"

namespace peft::cli {
namespace {

struct Opts {
  CommonOptions common;
  std::string model, adapter, out;
};

std::function<int()> setup(CLI::App& app) {
  auto o = std::make_shared<Opts>();
  app.add_option("-m,--model", o->model, std::string("The base model the adapter was trained on: ") + kModelInput)
      ->required()
      ->check(CLI::ExistingPath);
  app.add_option("--adapter", o->adapter, "PEFT adapter folder (adapter_config.json + adapter_model.safetensors)")
      ->required();
  app.add_option("-o,--out", o->out, "Output: one FILE.gguf (a llama.cpp LoRA adapter)")->required();
  add_common_options(app, o->common);
  return [o]() {
    apply_common_options(o->common);
    check_adapter_folders({o->adapter});
    check_file_writable(o->out, "export");
    Pretrained p = load_pretrained(o->model);
    LoadedPeft lp = load_adapter_for(p, o->adapter);
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
    std::string arch = p.gguf ? p.gguf->get_string("general.architecture", "llama") : p.model->cfg.arch;
    double alpha = save_gguf_lora(o->out, arch, layers);
    log_info("wrote " + o->out + ": " + std::to_string(layers.size()) + " layers, alpha " + std::to_string(alpha));
    return 0;
  };
}

PEFT_COMMAND("export", "Write an adapter as a llama.cpp LoRA GGUF (llama-cli --lora)", setup);

}  // namespace
}  // namespace peft::cli
