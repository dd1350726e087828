// LoRA+ (Hayou et al. 2024), REFERENCE.md: not an adapter of its own but a
// rule for the optimizer. The adapter is a plain LoRA; lora_B's parameter
// group learns at lr × lora_plus_ratio (train/optimizer.h), which a run takes
// from this method's "lora-plus-ratio" setting.
#include "adapters/lora.h"
#include "adapters/registry.h"

namespace peft {

namespace {

template <typename T>
std::unique_ptr<Adapter<T>> make_lora_plus(const AdapterConfig& cfg, const LinearInfo& info, const T* W,
                                           const VeraShared<T>*, Rng& rng, std::vector<int32_t>) {
  auto a = std::make_unique<LoraAdapter<T>>(info, lora_options_for(cfg, info), W, rng);
  a->set_method_name("lora-plus");
  return a;
}

}  // namespace

const MethodSpec& lora_plus_method() {
  static const MethodSpec kSpec = [] {
    MethodSpec m;
    m.name = "lora-plus";
    m.aliases = {"lora_plus", "loraplus"};
    m.summary = "LoRA+: LoRA with lora_B learning at a larger rate";
    m.settings = lora_style_settings();
    m.settings.push_back("lora-plus-ratio");
    m.make_f32 = make_lora_plus<float>;
    m.make_f64 = make_lora_plus<double>;
    return m;
  }();
  return kSpec;
}

}  // namespace peft
