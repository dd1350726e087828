// A PEFT adapter folder: adapter_config.json (part 0 of the input) and
// adapter_model.safetensors (part 1), opened, and every tensor read at the
// shape the file gives it.
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "io/peft_adapter.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string_view config = peft::fuzz::part(in, 0);
  peft::fuzz::write_scratch("adapter_config.json", config);
  peft::fuzz::write_scratch("adapter_model.safetensors", peft::fuzz::part(in, 1));
  peft::fuzz::run_guarded([&] { (void)peft::peft_config_from_json(std::string(config), "adapter_config.json"); });
  peft::fuzz::run_guarded([&] {
    auto a = peft::PeftAdapter::open(peft::fuzz::scratch_dir().string());
    for (const auto& key : a.keys()) {
      peft::fuzz::run_guarded([&] {
        peft::Shape s = a.shape(key);
        if (peft::shape_numel(s) <= (1 << 16)) (void)a.tensor(key, s);
      });
    }
  });
  return 0;
}
