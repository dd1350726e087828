#include "tokenizer/load.h"

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "io/gguf.h"
#include "tokenizer/hf/hf_tokenizer.h"

namespace peft {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool has_gguf_magic(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  char magic[4] = {};
  return f.read(magic, 4) && std::string(magic, 4) == "GGUF";
}

}  // namespace

std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(path, ec)) fail("tokenizer", path + ": no such file or directory");
  if (fs::is_directory(path, ec)) {
    const std::string json = (fs::path(path) / "tokenizer.json").string();
    if (!fs::exists(json, ec)) fail("tokenizer", path + ": directory has no tokenizer.json");
    return load_hf_tokenizer(json);
  }
  if (ends_with(path, ".json")) return load_hf_tokenizer(path);
  if (ends_with(path, ".gguf") || has_gguf_magic(path)) {
    auto file = GgufFile::open(path);
    return load_gguf_tokenizer(*file);
  }
  fail("tokenizer", path + ": not a GGUF file or tokenizer.json");
}

}  // namespace peft
