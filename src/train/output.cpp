#include "train/output.h"

#include <filesystem>

#include "adapters/lora_fa.h"
#include "core/error.h"
#include "train/trainer.h"

namespace peft {

void save_training_output(Pretrained& p, const MethodSetup& s, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) fail("train", "cannot write '" + dir + "': " + ec.message());
  if (s.method == "full") {
    save_llama_gguf<float>(*p.model, p.gguf.get(), dir + "/model.gguf");
    return;
  }
  PeftSaveOptions opt;
  opt.base_model_name_or_path = p.path;
  save_peft_dir(dir, s.adapter, adapted_layers(*p.model, s), s.vera.get(), opt);
}

void enable_lora_fa_projection(Trainer& trainer, LlamaModel<float>& model) {
  std::vector<LoraFaAdapter<float>*> fa;
  for (Linear<float>* lin : model.all_linears())
    if (auto* a = dynamic_cast<LoraFaAdapter<float>*>(lin->adapter.get())) fa.push_back(a);
  if (fa.empty()) fail("train", "--lora-fa-projection needs the lora-fa method");
  trainer.before_step = [fa]() {
    for (auto* a : fa) a->project_grad();
  };
}

}  // namespace peft
