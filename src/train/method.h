// Turning a loaded model into one that trains with a given method: full
// fine-tuning makes every base tensor trainable; the adapter methods freeze
// the base and put an adapter in the slot of each targeted linear layer.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "adapters/factory.h"
#include "adapters/registry.h"
#include "train/peft_dir.h"
#include "model/llama.h"

namespace peft {

// The methods `peft train --method` accepts (the registry's names,
// adapters/registry.h).
const std::vector<std::string>& train_methods();
// False for full fine-tuning; throws for an unknown method.
bool is_adapter_method(const std::string& method);

struct MethodSetup {
  std::string method;  // the registered name (an alias given to setup_method resolves to it)
  AdapterConfig adapter;  // meaningless for "full"
  std::unique_ptr<VeraShared<float>> vera;  // VeRA's shared projections (outlive the adapters)
  std::vector<PeftLayer> layers;            // the adapted layers, with their HF row order
  int64_t trainable = 0, total = 0;         // parameter counts
};

// `hf_row_order`: the model was loaded from GGUF, whose q/k rows are in
// interleaved-rope order; adapters then record the HF row order of q and k so
// they can be saved in PEFT's layout. Throws "[train] ..." / "[adapters] ...".
std::unique_ptr<MethodSetup> setup_method(LlamaModel<float>& model, const std::string& method,
                                          const AdapterConfig& adapter, bool gguf_row_order);

// Any model, as setup_method needs to see it: its linear layers with their
// PEFT description (same order), and its base tensors. Encoders (BERT) and
// the embedders use this; the Llama overload above builds one.
struct ModelView {
  std::vector<Linear<float>*> linears;
  std::vector<PeftLayer> layers;  // layers[i] describes linears[i]
  std::function<void(bool)> set_base_trainable;
  std::function<void(const ParamVisitor<float>&)> visit_trainable;
  int64_t parameter_count = 0;
};
std::unique_ptr<MethodSetup> setup_method(const ModelView& model, const std::string& method,
                                          const AdapterConfig& adapter);
// The adapted layers of a model given as its linears, for saving.
std::vector<std::pair<PeftLayer, const Adapter<float>*>> adapted_layers(const std::vector<Linear<float>*>& linears,
                                                                        const MethodSetup& s);

// The adapted layers of a model, for saving.
std::vector<std::pair<PeftLayer, const Adapter<float>*>> adapted_layers(LlamaModel<float>& model,
                                                                        const MethodSetup& s);

// The PEFT-side description of every linear of the model (for loading adapters).
std::vector<PeftLayer> peft_layers_of(LlamaModel<float>& model, bool gguf_row_order);

}  // namespace peft
