#include "io/safetensors_model.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/error.h"

namespace peft {

namespace fs = std::filesystem;

namespace {

constexpr const char* kSingleName = "model.safetensors";
constexpr const char* kIndexName = "model.safetensors.index.json";

[[noreturn]] void bad(const std::string& path, const std::string& problem) {
  fail("safetensors", path + ": " + problem);
}

// A shard name from an index must stay inside the model directory.
bool is_safe_relative(const std::string& name) {
  if (name.empty() || name.find('\0') != std::string::npos) return false;
  fs::path p(name);
  if (p.is_absolute() || p.has_root_path()) return false;
  for (const auto& part : p)
    if (part == "..") return false;
  return true;
}

}  // namespace

SafetensorsIndex parse_safetensors_index(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) bad(path, "cannot open the index");
  std::stringstream ss;
  ss << in.rdbuf();
  nlohmann::json root;
  try {
    root = nlohmann::json::parse(ss.str());
  } catch (const nlohmann::json::exception& e) {
    std::string msg = e.what();
    size_t close = msg.find("] ");
    if (msg.rfind("[json.exception.", 0) == 0 && close != std::string::npos) msg = msg.substr(close + 2);
    bad(path, "index is not valid JSON: " + msg);
  }
  if (!root.is_object()) bad(path, "index is not a JSON object");
  if (!root.contains("weight_map")) bad(path, "index has no 'weight_map'");
  const auto& wm = root["weight_map"];
  if (!wm.is_object()) bad(path, "'weight_map' is not an object of tensor name -> file name");
  if (wm.empty()) bad(path, "'weight_map' is empty");
  SafetensorsIndex r;
  std::set<std::string> shards;
  for (const auto& [name, file] : wm.items()) {
    if (!file.is_string()) bad(path, "weight_map entry '" + name + "' is not a file name string");
    std::string f = file.get<std::string>();
    if (!is_safe_relative(f)) bad(path, "weight_map entry '" + name + "' names '" + f + "', not a file inside the model directory");
    r.weight_map[name] = f;
    shards.insert(f);
  }
  r.shards.assign(shards.begin(), shards.end());
  return r;
}

std::shared_ptr<SafetensorsModel> SafetensorsModel::open(const std::string& path) {
  auto m = std::shared_ptr<SafetensorsModel>(new SafetensorsModel());
  m->path_ = path;
  std::error_code ec;
  std::string single, index;
  if (fs::is_directory(path, ec)) {
    fs::path dir(path);
    if (fs::exists(dir / kSingleName, ec)) single = (dir / kSingleName).string();
    else if (fs::exists(dir / kIndexName, ec)) index = (dir / kIndexName).string();
    else bad(path, std::string("directory holds neither ") + kSingleName + " nor " + kIndexName);
  } else if (!fs::exists(path, ec)) {
    bad(path, "no such file or directory");
  } else if (path.size() >= 5 && path.compare(path.size() - 5, 5, ".json") == 0) {
    index = path;
  } else {
    single = path;
  }

  if (!single.empty()) {
    auto f = SafetensorsFile::open(single);
    m->files_.push_back(f);
    for (const auto& name : f->names()) m->where_[name] = 0;
    return m;
  }

  SafetensorsIndex idx = parse_safetensors_index(index);
  fs::path dir = fs::path(index).parent_path();
  std::map<std::string, size_t> shard_slot;
  for (const auto& shard : idx.shards) {
    fs::path p = dir / shard;
    if (!fs::is_regular_file(p, ec))
      bad(index, "shard '" + shard + "' named by weight_map is missing (looked for " + p.string() + ")");
    shard_slot[shard] = m->files_.size();
    m->files_.push_back(SafetensorsFile::open(p.string()));
  }
  for (const auto& [name, shard] : idx.weight_map) {
    size_t slot = shard_slot.at(shard);
    if (!m->files_[slot]->has(name))
      bad(index, "weight_map puts tensor '" + name + "' in '" + shard + "', which does not hold it");
    m->where_[name] = slot;
  }
  return m;
}

std::vector<std::string> SafetensorsModel::names() const {
  std::vector<std::string> r;
  r.reserve(where_.size());
  for (const auto& [name, slot] : where_) r.push_back(name);
  return r;
}

const SafetensorsFile& SafetensorsModel::file_of(const std::string& name) const {
  auto it = where_.find(name);
  if (it == where_.end()) fail("safetensors", path_ + ": no tensor named '" + name + "'");
  return *files_[it->second];
}

DType SafetensorsModel::dtype(const std::string& name) const { return file_of(name).dtype(name); }
const Shape& SafetensorsModel::shape(const std::string& name) const { return file_of(name).shape(name); }
Tensor SafetensorsModel::tensor(const std::string& name) const { return file_of(name).tensor(name); }

const std::map<std::string, std::string>& SafetensorsModel::metadata() const {
  static const std::map<std::string, std::string> kEmpty;
  return files_.empty() ? kEmpty : files_.front()->metadata();
}

}  // namespace peft
