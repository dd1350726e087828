// A model's adapters as a Hugging Face PEFT directory (REFERENCE.md §9),
// both ways, for float adapters.
//
// Saving: LoRA, LoRA+ and LoRA-FA write a LORA adapter; Delta-LoRA writes its
// exact rank-2r LoRA (delta_lora.h); a PiSSA-initialised LoRA writes PEFT's
// rank-2r conversion to plain LoRA on the original base (lora.h); VeRA writes
// a VERA adapter with save_projection = true. Rows are written in HF order:
// for a layer with `hf_rows` (q/k of a GGUF-loaded model, io/hf_names.h)
// lora_B's rows and λ_b are scattered to HF positions.
//
// Loading builds plain LoraAdapter / VeraAdapter objects from the files,
// back in the model's row order, for inference or merging.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/adapter_slot.h"
#include "adapters/factory.h"
#include "adapters/vera.h"
#include "io/peft_adapter.h"

namespace peft {

// One linear layer of the model, as the file sees it.
struct PeftLayer {
  LinearInfo info;               // GGUF-style name, e.g. "blk.0.attn_q"
  std::vector<int32_t> hf_rows;  // our row i is HF row hf_rows[i]; empty when the orders agree
  // The module's path and its target_modules name in the Hugging Face model
  // ("encoder.layer.0.attention.self.query", "query"); empty: the Llama
  // mapping of io/hf_names.h ("model.layers.0.self_attn.q_proj", "q_proj").
  std::string hf_module;
  std::string hf_target;
};

struct PeftSaveOptions {
  std::string base_model_name_or_path;
  std::string task_type = "CAUSAL_LM";
};

// Writes `dir` from the adapted layers (adapter non-null). `cfg` is the run's
// configuration; `shared` is VeRA's pair (null for other methods).
void save_peft_dir(const std::string& dir, const AdapterConfig& cfg,
                   const std::vector<std::pair<PeftLayer, const Adapter<float>*>>& layers,
                   const VeraShared<float>* shared, const PeftSaveOptions& opt);

struct LoadedPeft {
  PeftAdapterConfig config;
  std::unique_ptr<VeraShared<float>> shared;  // VERA only; the adapters point into it
  std::map<std::string, std::unique_ptr<Adapter<float>>> adapters;  // by GGUF layer name
};

// Reads `dir` for a model whose linear layers are `layers`. Every tensor in
// the file must belong to one of them, with the right shape; one-line
// "[peft] …" errors otherwise, and when nothing matches.
LoadedPeft load_peft_dir(const std::string& dir, const std::vector<PeftLayer>& layers);

}  // namespace peft
