#include "tokenizer/load.h"

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "io/gguf.h"
#include "io/gguf_sniff.h"
#include "tokenizer/hf/hf_tokenizer.h"

namespace peft {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
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
  if (looks_like_gguf(path)) {
    auto file = GgufFile::open(path);
    return load_gguf_tokenizer(*file);
  }
  fail("tokenizer", path + ": not a GGUF file or tokenizer.json");
}

}  // namespace peft
