#include "train/output.h"

#include <filesystem>

#include "adapters/registry.h"
#include "core/error.h"

namespace peft {

void save_training_output(Pretrained& p, const MethodSetup& s, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) fail("train", "cannot write '" + dir + "': " + ec.message());
  if (method_spec(s.method).trains_base) {
    save_llama_gguf<float>(*p.model, p.gguf.get(), dir + "/model.gguf");
    return;
  }
  PeftSaveOptions opt;
  opt.base_model_name_or_path = p.path;
  save_peft_dir(dir, s.adapter, adapted_layers(*p.model, s), s.vera.get(), opt);
}

}  // namespace peft
