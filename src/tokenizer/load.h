// One entry point for "a tokenizer from a path", so callers need not know
// the file kinds: a GGUF file (its tokenizer.ggml.* metadata), later a
// tokenizer.json or a model directory holding one.
#pragma once
#include <memory>
#include <string>

#include "tokenizer/tokenizer.h"

namespace peft {

// Throws "[tokenizer] ..." (or the file reader's own error) when the path
// cannot be read or holds no tokenizer we support.
std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path);

}  // namespace peft
