#include "train/pretrained.h"

#include <filesystem>

#include "core/error.h"
#include "model/hf_load.h"
#include "tokenizer/load.h"

namespace peft {

Pretrained load_pretrained(const std::string& path, BaseDType base) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(path, ec)) fail("model", "'" + path + "' does not exist");
  Pretrained p;
  p.path = path;
  if (fs::is_directory(path, ec)) {
    if (!fs::exists(fs::path(path) / "config.json", ec))
      fail("model", path + ": directory has no config.json (not a Hugging Face model directory)");
    if (!fs::exists(fs::path(path) / "tokenizer.json", ec))
      fail("tokenizer", path + ": directory has no tokenizer.json (the model's tokenizer is required)");
    p.format = "hf";
    p.model = load_llama_hf<float>(path);
    p.tokenizer = load_tokenizer(path);
    return p;
  }
  p.format = "gguf";
  p.gguf = GgufFile::open(path);
  p.model = load_llama_gguf<float>(*p.gguf, base);
  p.tokenizer = load_gguf_tokenizer(*p.gguf);
  return p;
}

}  // namespace peft
