// Whether a path names a GGUF file: by its ".gguf" suffix or, for files
// named otherwise, by the four magic bytes "GGUF" at its start. Loaders use
// it to choose between a GGUF file and a Hugging Face folder or JSON file.
#pragma once
#include <string>

namespace peft {

bool looks_like_gguf(const std::string& path);

}  // namespace peft
