#include "embed/embed_inputs.h"

#include <cstdio>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "data/jsonl.h"
#include "io/atomic_file.h"

namespace peft {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string id_text(const nlohmann::ordered_json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

}  // namespace

std::string beir_text(const std::string& title, const std::string& text) {
  return title.empty() ? text : title + " " + text;
}

EmbedInputs read_embed_inputs(const std::string& path) {
  EmbedInputs in;
  if (ends_with(path, ".jsonl") || ends_with(path, ".json")) {
    for (const JsonlRecord& r : read_jsonl(path)) {
      const auto& v = r.value;
      const std::string where = path + ":" + std::to_string(r.line) + ": ";
      auto text = v.find("text");
      if (text == v.end() || !text->is_string())
        fail("embed", where + "no string \"text\" field (expected {\"text\": ...} or BEIR's {\"_id\", \"title\", \"text\"})");
      std::string title;
      if (auto t = v.find("title"); t != v.end() && !t->is_null()) {
        if (!t->is_string()) fail("embed", where + "\"title\" is not a string");
        title = t->get<std::string>();
      }
      in.texts.push_back(beir_text(title, text->get<std::string>()));
      std::string id;
      if (auto i = v.find("_id"); i != v.end()) id = id_text(*i);
      else if (auto j = v.find("id"); j != v.end()) id = id_text(*j);
      in.has_ids = in.has_ids || !id.empty();
      in.ids.push_back(std::move(id));
    }
    return in;
  }
  const std::string bytes = read_file_bytes(path);
  size_t start = 0;
  while (start < bytes.size()) {
    size_t nl = bytes.find('\n', start);
    if (nl == std::string::npos) nl = bytes.size();
    std::string line = bytes.substr(start, nl - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    in.texts.push_back(std::move(line));
    in.ids.emplace_back();
    start = nl + 1;
  }
  return in;
}

std::string embedding_json(const float* row, int64_t cols) {
  std::string s = "[";
  char buf[32];
  for (int64_t j = 0; j < cols; ++j) {
    std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(row[j]));
    if (j) s += ", ";
    s += buf;
  }
  return s + "]";
}

void write_embeddings_jsonl(const std::string& path, const std::vector<std::string>& ids, const float* data,
                            int64_t rows, int64_t cols) {
  std::string out;
  for (int64_t r = 0; r < rows; ++r) {
    const std::string& id = static_cast<size_t>(r) < ids.size() ? ids[r] : std::string();
    out += "{\"id\": " + (id.empty() ? std::to_string(r) : nlohmann::json(id).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)) +
           ", \"embedding\": " + embedding_json(data + r * cols, cols) + "}\n";
  }
  write_file_atomic(path, out);
}

}  // namespace peft
