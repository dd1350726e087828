// A sharded safetensors model: model.safetensors.index.json (part 0 of the
// input) naming two shards (parts 1 and 2), opened as one model.
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "io/safetensors_model.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string index = peft::fuzz::write_scratch("model.safetensors.index.json", peft::fuzz::part(in, 0));
  peft::fuzz::write_scratch("model-00001-of-00002.safetensors", peft::fuzz::part(in, 1));
  peft::fuzz::write_scratch("model-00002-of-00002.safetensors", peft::fuzz::part(in, 2));
  peft::fuzz::run_guarded([&] { (void)peft::parse_safetensors_index(index); });
  peft::fuzz::run_guarded([&] {
    auto m = peft::SafetensorsModel::open(index);
    (void)m->metadata();
    for (const auto& name : m->names()) {
      peft::fuzz::run_guarded([&] {
        peft::Tensor t = m->tensor(name);
        if (t.nbytes() > 0) (void)static_cast<const uint8_t*>(t.data())[t.nbytes() - 1];
      });
    }
  });
  return 0;
}
