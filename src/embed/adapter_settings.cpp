#include "embed/adapter_settings.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"
#include "io/atomic_file.h"

namespace peft {

void write_adapter_settings(const std::string& dir, const AdapterEmbeddingSettings& s) {
  nlohmann::ordered_json j;
  j["pooling"] = s.pooling;
  j["normalize"] = s.normalize;
  j["max_length"] = s.max_length;
  j["query_prompt"] = s.query_prompt;
  j["doc_prompt"] = s.doc_prompt;
  write_file_atomic(dir + "/" + kAdapterSettingsFile, j.dump(2) + "\n");
}

std::optional<AdapterEmbeddingSettings> read_adapter_settings(const std::string& dir) {
  const std::string path = dir + "/" + kAdapterSettingsFile;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return std::nullopt;
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  if (!in) fail("embed", "cannot read " + path);
  const nlohmann::json j = nlohmann::json::parse(ss.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) fail("embed", path + ": not a JSON object");
  AdapterEmbeddingSettings s;
  auto str = [&](const char* k, std::string& v) {
    if (!j.contains(k)) return;
    if (!j[k].is_string()) fail("embed", path + ": \"" + k + "\" must be a string");
    v = j[k].get<std::string>();
  };
  str("pooling", s.pooling);
  str("query_prompt", s.query_prompt);
  str("doc_prompt", s.doc_prompt);
  if (!s.pooling.empty() && s.pooling != "cls" && s.pooling != "mean" && s.pooling != "last")
    fail("embed", path + ": pooling '" + s.pooling + "' is not one of cls, mean, last");
  if (j.contains("normalize")) {
    if (!j["normalize"].is_boolean()) fail("embed", path + ": \"normalize\" must be true or false");
    s.normalize = j["normalize"].get<bool>();
  }
  if (j.contains("max_length")) {
    if (!j["max_length"].is_number_integer() || j["max_length"].get<int64_t>() < 0)
      fail("embed", path + ": \"max_length\" must be a non-negative integer");
    s.max_length = j["max_length"].get<int64_t>();
  }
  return s;
}

}  // namespace peft
