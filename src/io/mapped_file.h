// A whole file mapped read-only into memory.
//
// Readers of large model files (GGUF, safetensors) view tensors directly in
// the mapping instead of copying them; a tensor keeps the mapping alive by
// holding the shared_ptr (see Tensor::view). An empty file maps to no memory:
// data() is null and size() is 0.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace peft {

class MappedFile {
 public:
  // Throws InputError "[io] cannot open '<path>': <reason>".
  static std::shared_ptr<MappedFile> open(const std::string& path);
  // As open(), but returns null and sets *reason (strerror text) on failure,
  // for readers that phrase the error in their own area.
  static std::shared_ptr<MappedFile> try_open(const std::string& path, std::string* reason);

  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  MappedFile() = default;
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace peft
