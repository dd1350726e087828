#include "train/pretrained.h"

#include <filesystem>

#include "core/error.h"

namespace peft {

Pretrained load_pretrained(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(path, ec)) fail("model", "'" + path + "' does not exist");
  Pretrained p;
  p.path = path;
  if (fs::is_directory(path, ec)) {
    fail("model", "'" + path + "' is a directory; Hugging Face model directories are not supported yet");
  }
  p.format = "gguf";
  p.gguf = GgufFile::open(path);
  p.model = load_llama_gguf<float>(*p.gguf);
  p.tokenizer = load_gguf_tokenizer(*p.gguf);
  return p;
}

}  // namespace peft
