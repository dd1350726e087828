#include "model/embedding_folder.h"

#include <filesystem>
#include <vector>

#include "core/error.h"
#include "io/atomic_file.h"
#include "model/config_keys.h"

namespace peft {

namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

bool ends_with(const std::string& s, const std::string& p) {
  return s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
}

Json read_json(const fs::path& p) { return parse_config_object(read_file_bytes(p.string()), p.string()); }

// Reads 1_Pooling/config.json into f.
void read_pooling(const fs::path& path, const std::string& dir, EmbeddingFolder& f) {
  std::error_code ec;
  if (!fs::exists(path, ec)) fail("model", dir + ": the Pooling module has no " + path.string());
  const Json j = read_json(path);
  const std::string label = path.string();
  KeyReader r{j, label, ""};
  if (r.has("word_embedding_dimension")) f.dim = r.positive_int("word_embedding_dimension");
  f.include_prompt = r.boolean("include_prompt", true);
  std::vector<std::string> modes;
  if (r.has("pooling_mode")) {
    modes.push_back(r.string("pooling_mode", ""));
  } else {
    const std::pair<const char*, const char*> flags[] = {
        {"pooling_mode_cls_token", "cls"},
        {"pooling_mode_mean_tokens", "mean"},
        {"pooling_mode_max_tokens", "max"},
        {"pooling_mode_mean_sqrt_len_tokens", "mean_sqrt_len_tokens"},
        {"pooling_mode_weightedmean_tokens", "weightedmean"},
        {"pooling_mode_lasttoken", "lasttoken"},
    };
    for (const auto& [key, mode] : flags)
      if (r.boolean(key, false)) modes.push_back(mode);
  }
  if (modes.empty()) fail("model", label + ": no pooling mode is set");
  if (modes.size() > 1)
    fail("model", label + ": pooling modes '" + modes[0] + "' and '" + modes[1] +
                      "' are both set; concatenated pooling is not supported");
  const std::string& m = modes[0];
  if (m != "cls" && m != "mean" && m != "lasttoken" && m != "last")
    fail("model", label + ": pooling mode '" + m + "' is not supported (supported: cls, mean, lasttoken)");
  f.pooling = ops::pool_mode_from_string(m);
}

void read_prompts(const fs::path& path, EmbeddingFolder& f) {
  const Json j = read_json(path);
  const std::string label = path.string();
  KeyReader r{j, label, ""};
  if (r.has("prompts")) {
    const Json& p = j["prompts"];
    if (!p.is_object()) r.bad("key 'prompts' must be an object of name: text");
    for (const auto& [name, text] : p.items()) {
      if (!text.is_string()) r.bad("prompt '" + name + "' must be a string");
      f.prompts[name] = text.get<std::string>();
    }
  }
  f.default_prompt_name = r.string("default_prompt_name", "");
  if (!f.default_prompt_name.empty() && !f.prompts.count(f.default_prompt_name))
    r.bad("default_prompt_name '" + f.default_prompt_name + "' is not one of the prompts");
  f.similarity = r.string("similarity_fn_name", "");
}

}  // namespace

EmbeddingFolder read_embedding_folder(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) fail("model", dir + ": not a directory");
  EmbeddingFolder f;
  f.root = dir;
  const fs::path root(dir);
  if (!fs::exists(root / "modules.json", ec)) {
    if (!fs::exists(root / "config.json", ec))
      fail("model", dir + ": not an embedding model folder (no modules.json and no config.json)");
    f.transformer_dir = dir;
  } else {
    f.sentence_transformers = true;
    const std::string label = (root / "modules.json").string();
    Json mods;
    try {
      mods = Json::parse(read_file_bytes(label));
    } catch (const Json::exception& e) {
      fail("config", label + ": not valid JSON");
    }
    if (!mods.is_array()) fail("config", label + ": expected a list of modules");
    bool have_transformer = false, have_pooling = false;
    for (const Json& m : mods) {
      if (!m.is_object() || !m.contains("type") || !m["type"].is_string())
        fail("config", label + ": every module needs a \"type\" string");
      const std::string type = m["type"].get<std::string>();
      const std::string path = m.contains("path") && m["path"].is_string() ? m["path"].get<std::string>() : "";
      if (path.find("..") != std::string::npos || (!path.empty() && path[0] == '/'))
        fail("config", label + ": module path '" + path + "' leaves the folder");
      if (ends_with(type, ".Transformer")) {
        if (have_transformer) fail("model", label + ": more than one Transformer module");
        have_transformer = true;
        f.transformer_dir = path.empty() ? dir : (root / path).string();
      } else if (ends_with(type, ".Pooling")) {
        if (!have_transformer) fail("model", label + ": the Pooling module comes before the Transformer");
        have_pooling = true;
        read_pooling(root / path / "config.json", dir, f);
      } else if (ends_with(type, ".Normalize")) {
        f.normalize = true;
      } else {
        fail("model", dir + ": module '" + path + "' (" + type +
                          ") is not supported (supported: Transformer, Pooling, Normalize)");
      }
    }
    if (!have_transformer) fail("model", dir + ": not an embedding model folder (modules.json lists no Transformer)");
    if (!have_pooling) fail("model", dir + ": modules.json lists no Pooling module");
  }
  const fs::path tdir(f.transformer_dir);
  if (!fs::exists(tdir / "config.json", ec))
    fail("model", dir + ": no config.json in the Transformer folder " + f.transformer_dir);
  if (fs::exists(tdir / "sentence_bert_config.json", ec)) {
    const std::string label = (tdir / "sentence_bert_config.json").string();
    const Json j = read_json(label);
    KeyReader r{j, label, ""};
    f.max_seq_length = r.positive_int("max_seq_length", 0);
  }
  if (fs::exists(root / "config_sentence_transformers.json", ec))
    read_prompts(root / "config_sentence_transformers.json", f);
  return f;
}

}  // namespace peft
