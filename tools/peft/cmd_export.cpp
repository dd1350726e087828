// peft export: write a PEFT adapter as a llama.cpp LoRA GGUF.
#include "train/gguf_lora.h"
#include "command.h"
#include "common.h"
#include "core/error.h"
#include "core/log.h"
#include "io/atomic_file.h"
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
    const GgufLoraExport e = export_gguf_lora(p, o->adapter, o->out);
    log_info("wrote " + o->out + ": " + std::to_string(e.layers) + " layers, alpha " + std::to_string(e.alpha));
    return 0;
  };
}

PEFT_COMMAND("export", "Write an adapter as a llama.cpp LoRA GGUF (llama-cli --lora)", setup);

}  // namespace
}  // namespace peft::cli
