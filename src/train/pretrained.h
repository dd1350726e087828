// A pretrained model with its tokenizer, loaded from a path the user gives:
// a GGUF file, or a Hugging Face directory (config.json, safetensors,
// tokenizer.json).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "io/gguf.h"
#include "model/llama.h"
#include "tokenizer/tokenizer.h"

namespace peft {

struct Pretrained {
  std::string path;
  std::string format;  // "gguf" or "hf"
  std::shared_ptr<GgufFile> gguf;  // when loaded from GGUF
  std::unique_ptr<LlamaModel<float>> model;
  std::unique_ptr<Tokenizer> tokenizer;
  // Things the model's adapters point into (VeRA's shared projections).
  std::vector<std::shared_ptr<void>> keep_alive;
};

// Throws InputError "[model] ..." / "[gguf] ..." / "[tokenizer] ..." on bad input.
// `base` picks how the frozen matrices of a GGUF model are held
// (model/base_dtype.h); a Hugging Face directory loads as f32.
Pretrained load_pretrained(const std::string& path, BaseDType base = BaseDType::F32);

}  // namespace peft
