// The fine-tuning methods, found through one registry.
//
// Adding a method: write its file in src/adapters/ (the Adapter subclass, if
// it has one, and a function `const MethodSpec& ID_method()` that describes
// it) and add one line `PEFT_METHOD(ID)` to adapters/methods.def. Nothing
// else switches on method names or casts adapters to their classes: the
// factory, the trainer, the PEFT and llama.cpp writers and the CLI read what
// they need from the spec below, and talk to adapters only through the
// Adapter interface (core/adapter_slot.h): plain_lora() for export,
// before_optimizer_step() / after_step() / writes_base() for the trainer.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "adapters/factory.h"
#include "adapters/vera.h"
#include "core/adapter_slot.h"
#include "core/rng.h"

namespace peft {

// How a method's adapters are written into a Hugging Face PEFT folder
// (train/peft_dir.h): not at all (full fine-tuning writes a model), as a
// LoRA from Adapter::plain_lora(), or as a VeRA adapter (the λ vectors,
// named "<layer>.vera_lambda_b/d" by visit_params, and the shared pair).
enum class PeftFormat { None, Lora, Vera };

// Builds one targeted layer's adapter; see make_adapter (factory.h) for the
// arguments. `shared` is the model's shared projections, made only for
// methods with shared_projections.
template <typename T>
using AdapterMaker = std::function<std::unique_ptr<Adapter<T>>(
    const AdapterConfig& cfg, const LinearInfo& info, const T* W, const VeraShared<T>* shared, Rng& rng,
    std::vector<int32_t> row_perm)>;

struct MethodSpec {
  std::string name;                  // what --method takes, e.g. "lora-fa"
  std::vector<std::string> aliases;  // other accepted spellings, e.g. "lora_fa"
  std::string summary;               // one line for help texts
  // Full fine-tuning: no adapter, every base tensor trains.
  bool trains_base = false;
  // Defaults a run takes when the user leaves them unset.
  double default_lr = 2e-3;
  int default_rank = 8;
  // The method-specific settings the method reads, named as the CLI flags
  // without their dashes ("rank", "alpha", "dropout", "rslora", "init",
  // "targets", "target-regex", "lora-plus-ratio", ...). A setting a method
  // does not list has no effect on it (the CLI can say so).
  std::vector<std::string> settings;
  bool uses(const std::string& setting) const;
  // VeRA-style: one pair of frozen random projections for the whole model,
  // made by make_vera_shared before the adapters.
  bool shared_projections = false;
  PeftFormat peft_format = PeftFormat::Lora;
  // Whether its PEFT folder records the init the adapter was made with
  // (init_lora_weights "gaussian"); false when what is saved is a converted
  // LoRA on the original base (Delta-LoRA's rank-2r form), which PEFT marks
  // true.
  bool peft_records_init = true;
  // Rules of this method beyond the common checks of validate_adapter_config
  // (may be empty). Throws InputError "[adapters] ...".
  std::function<void(const AdapterConfig&)> validate;
  // Empty when trains_base.
  AdapterMaker<float> make_f32;
  AdapterMaker<double> make_f64;
};

// Every method, in registration order (methods.def).
const std::vector<const MethodSpec*>& all_methods();
// The method called `name` or one of its aliases; null when none.
const MethodSpec* find_method(const std::string& name);
// The same, throwing InputError "[area] unknown method 'x' (use one of: ...)".
const MethodSpec& method_spec(const std::string& name, const std::string& area = "train");
// The registered names joined by `sep`; only those with adapters when asked.
std::string method_names(const std::string& sep = ", ", bool adapters_only = false);

// Each method's description, defined in its own file.
#define PEFT_METHOD(id) const MethodSpec& id##_method();
#include "adapters/methods.def"
#undef PEFT_METHOD

}  // namespace peft
