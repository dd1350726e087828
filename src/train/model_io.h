// Writing a loaded (possibly merged) model in the form its path asks for:
// "*.gguf" → GGUF; anything else → a Hugging Face directory.
#pragma once
#include <string>

#include "train/pretrained.h"

namespace peft {

void save_pretrained(Pretrained& p, const std::string& out);

}  // namespace peft
