// What a training run leaves behind: for full fine-tuning the whole model as
// GGUF (model.gguf); for adapter methods a PEFT adapter folder
// (adapter_config.json + adapter_model.safetensors), which PEFT and
// `peft generate --adapter` load.
#pragma once
#include <string>

#include "train/method.h"
#include "train/pretrained.h"

namespace peft {

void save_training_output(Pretrained& p, const MethodSetup& s, const std::string& dir);

}  // namespace peft
