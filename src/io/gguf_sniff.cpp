#include "io/gguf_sniff.h"

#include <fstream>

namespace peft {

bool looks_like_gguf(const std::string& path) {
  const std::string suffix = ".gguf";
  if (path.size() >= suffix.size() && path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0)
    return true;
  std::ifstream f(path, std::ios::binary);
  char magic[4] = {};
  return f.read(magic, 4) && std::string(magic, 4) == "GGUF";
}

}  // namespace peft
