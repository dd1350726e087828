// The weights of a Hugging Face model directory: one model.safetensors, or
// shards named by model.safetensors.index.json ({"metadata": {...},
// "weight_map": {tensor: shard file}}), seen as one name -> Tensor table.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "io/safetensors.h"

namespace peft {

struct SafetensorsIndex {
  std::map<std::string, std::string> weight_map;  // tensor name -> shard file name
  std::vector<std::string> shards;                // distinct shard file names, sorted
};

// Parses and checks an index file without opening the shards. Shard names must
// be relative paths inside the directory (no absolute paths, no ".."). Throws
// InputError "[safetensors] <path>: ...".
SafetensorsIndex parse_safetensors_index(const std::string& path);

class SafetensorsModel {
 public:
  // `path` is a directory holding model.safetensors or
  // model.safetensors.index.json (the single file wins when both exist, as in
  // transformers), an index .json file, or a single .safetensors file.
  // Every shard is opened and validated, and every tensor the index names
  // must be in its shard. Tensors a shard holds but the index does not name
  // are not exposed (the index is the model's table of contents).
  static std::shared_ptr<SafetensorsModel> open(const std::string& path);

  const std::string& path() const { return path_; }
  std::vector<std::string> names() const;  // sorted
  size_t size() const { return where_.size(); }
  bool has(const std::string& name) const { return where_.count(name) > 0; }
  DType dtype(const std::string& name) const;
  const Shape& shape(const std::string& name) const;
  Tensor tensor(const std::string& name) const;  // a view into its shard's mapping
  // The shard holding `name`.
  const SafetensorsFile& file_of(const std::string& name) const;
  const std::vector<std::shared_ptr<SafetensorsFile>>& files() const { return files_; }
  // The first shard's __metadata__ (e.g. {"format": "pt"}).
  const std::map<std::string, std::string>& metadata() const;

 private:
  std::string path_;
  std::vector<std::shared_ptr<SafetensorsFile>> files_;
  std::map<std::string, size_t> where_;  // tensor name -> index into files_
};

}  // namespace peft
