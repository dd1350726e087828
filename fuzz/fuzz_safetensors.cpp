// One safetensors file, parsed from memory: header JSON, dtypes, shapes,
// offsets, then a view (and an f32 conversion) of every tensor.
#include <cstdint>

#include "fuzz_util.h"
#include "io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  peft::fuzz::run_guarded([&] {
    auto f = peft::SafetensorsFile::from_bytes("fuzz.safetensors", data, size, nullptr);
    (void)f->metadata();
    for (const auto& name : f->names()) {
      peft::fuzz::run_guarded([&] {
        const auto& e = f->entry(name);
        peft::Tensor t = f->tensor(name);
        const auto* p = static_cast<const uint8_t*>(t.data());
        unsigned sum = e.end > e.begin ? p[0] + p[e.end - e.begin - 1] : 0;
        (void)sum;
        if (t.numel() <= (1 << 16)) (void)t.to_f32();
      });
    }
  });
  return 0;
}
