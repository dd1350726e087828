// Writing a loaded (possibly merged) model in the form its path asks for:
// "*.gguf" → GGUF; anything else → a Hugging Face directory.
#pragma once
#include <optional>
#include <string>

#include "train/pretrained.h"

namespace peft {

// `matrix_type`: the type of the written matrices when given (GGUF only;
// re-quantized or rounded), else each as it is held in memory.
void save_pretrained(Pretrained& p, const std::string& out, std::optional<DType> matrix_type = std::nullopt);

}  // namespace peft
