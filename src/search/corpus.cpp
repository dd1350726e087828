#include "search/corpus.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <unordered_set>

#include "core/error.h"
#include "data/jsonl.h"
#include "io/atomic_file.h"

namespace peft {
namespace fs = std::filesystem;

namespace {

std::string id_text(const nlohmann::ordered_json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer() || v.is_number_unsigned()) return v.dump();
  return "";
}

std::vector<SearchDocument> read_jsonl_corpus(const std::string& path) {
  std::vector<SearchDocument> docs;
  for (auto& rec : read_jsonl(path)) {
    const std::string where = path + ":" + std::to_string(rec.line);
    auto& o = rec.value;
    SearchDocument d;
    const char* id_key = o.contains("_id") ? "_id" : o.contains("id") ? "id" : nullptr;
    if (!id_key) fail("search", where + ": no \"_id\" or \"id\"");
    d.id = id_text(o[id_key]);
    if (d.id.empty()) fail("search", where + ": \"" + id_key + "\" must be a non-empty string or an integer");
    if (!o.contains("text") || !o["text"].is_string()) fail("search", where + ": \"text\" must be a string");
    d.text = o["text"].get<std::string>();
    if (o.contains("title")) {
      if (!o["title"].is_string() && !o["title"].is_null()) fail("search", where + ": \"title\" must be a string");
      if (o["title"].is_string()) d.title = o["title"].get<std::string>();
    }
    for (auto it = o.begin(); it != o.end(); ++it) {
      const std::string& k = it.key();
      if (k == "_id" || k == "id" || k == "title" || k == "text") continue;
      d.meta[k] = nlohmann::json::parse(it.value().dump());
    }
    docs.push_back(std::move(d));
  }
  return docs;
}

std::vector<SearchDocument> read_folder_corpus(const std::string& dir) {
  std::vector<std::string> files;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    const std::string ext = it->path().extension().string();
    if (ext == ".txt" || ext == ".md") files.push_back(fs::relative(it->path(), dir).generic_string());
  }
  if (ec) fail("search", dir + ": " + ec.message());
  if (files.empty()) fail("search", dir + ": no .txt or .md files");
  std::sort(files.begin(), files.end());
  std::vector<SearchDocument> docs;
  for (const auto& rel : files) {
    SearchDocument d;
    d.id = rel;
    d.text = read_file_bytes((fs::path(dir) / rel).string());
    d.title = fs::path(rel).stem().string();
    if (fs::path(rel).extension() == ".md") {
      const std::string first = d.text.substr(0, d.text.find('\n'));
      if (!first.empty() && first[0] == '#') {
        const auto start = first.find_first_not_of("# \t");
        if (start != std::string::npos) d.title = first.substr(start);
      }
    }
    d.meta = {{"path", rel}};
    docs.push_back(std::move(d));
  }
  return docs;
}

}  // namespace

std::vector<SearchDocument> read_corpus(const std::string& path) {
  std::error_code ec;
  std::vector<SearchDocument> docs;
  if (fs::is_directory(path, ec)) {
    docs = read_folder_corpus(path);
  } else if (fs::is_regular_file(path, ec)) {
    docs = read_jsonl_corpus(path);
  } else {
    fail("search", path + ": no such corpus file or folder");
  }
  std::unordered_set<std::string> seen;
  for (const auto& d : docs)
    if (!seen.insert(d.id).second) fail("search", path + ": document id '" + d.id + "' appears twice");
  return docs;
}

std::string document_embed_text(const SearchDocument& d) { return d.title.empty() ? d.text : d.title + " " + d.text; }

std::vector<SearchDocument> chunk_documents(const std::vector<SearchDocument>& docs, int64_t chunk_tokens,
                                            int64_t chunk_overlap,
                                            const std::function<int64_t(const std::string&)>& count_tokens) {
  if (chunk_tokens <= 0) return docs;
  if (chunk_overlap < 0 || chunk_overlap >= chunk_tokens)
    fail("search", "--chunk-overlap must be >= 0 and below --chunk-tokens (" + std::to_string(chunk_tokens) + ")");
  std::vector<SearchDocument> out;
  for (const auto& d : docs) {
    // Words with their token counts.
    std::vector<std::string> words;
    std::vector<int64_t> cost;
    int64_t total = 0;
    size_t i = 0;
    const std::string& t = d.text;
    while (i < t.size()) {
      while (i < t.size() && std::isspace(static_cast<unsigned char>(t[i]))) ++i;
      size_t j = i;
      while (j < t.size() && !std::isspace(static_cast<unsigned char>(t[j]))) ++j;
      if (j > i) {
        words.push_back(t.substr(i, j - i));
        cost.push_back(std::max<int64_t>(1, count_tokens(" " + words.back())));
        total += cost.back();
      }
      i = j;
    }
    if (total <= chunk_tokens) {
      out.push_back(d);
      continue;
    }
    int64_t chunk = 0;
    size_t start = 0;
    while (start < words.size()) {
      size_t end = start;
      int64_t sum = 0;
      while (end < words.size() && (end == start || sum + cost[end] <= chunk_tokens)) sum += cost[end++];
      SearchDocument c;
      c.id = d.id + "#" + std::to_string(chunk);
      c.title = d.title;
      for (size_t w = start; w < end; ++w) c.text += (w > start ? " " : "") + words[w];
      c.meta = d.meta;
      c.meta["parent"] = d.id;
      c.meta["chunk"] = chunk;
      out.push_back(std::move(c));
      ++chunk;
      if (end >= words.size()) break;
      // Step back over the overlap, always moving forward at least one word.
      size_t next = end;
      int64_t back = 0;
      while (next > start + 1 && back < chunk_overlap) back += cost[--next];
      start = next;
    }
  }
  return out;
}

}  // namespace peft
