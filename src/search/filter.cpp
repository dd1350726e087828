#include "search/filter.h"

#include "core/error.h"

namespace peft {

SearchMode parse_search_mode(const std::string& s) {
  if (s == "vector") return SearchMode::kVector;
  if (s == "bm25") return SearchMode::kBm25;
  if (s == "hybrid") return SearchMode::kHybrid;
  fail("search", "unknown search mode '" + s + "' (vector, bm25 or hybrid)");
}

const char* search_mode_name(SearchMode m) {
  switch (m) {
    case SearchMode::kVector: return "vector";
    case SearchMode::kBm25: return "bm25";
    case SearchMode::kHybrid: return "hybrid";
  }
  return "?";
}

std::pair<std::string, std::string> parse_where(const std::string& s) {
  const auto eq = s.find('=');
  if (eq == std::string::npos) fail("search", "--where '" + s + "': expected KEY=VALUE");
  std::string key = s.substr(0, eq);
  if (key.empty()) fail("search", "--where '" + s + "': empty key");
  for (char c : key) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                    c == '-' || c == '.';
    if (!ok) fail("search", "--where '" + s + "': the key may hold only letters, digits, '_', '-' and '.'");
  }
  if (key.front() == '.' || key.back() == '.' || key.find("..") != std::string::npos)
    fail("search", "--where '" + s + "': empty part in the dotted key");
  return {key, s.substr(eq + 1)};
}

std::string json_path_of(const std::string& key) {
  std::string path = "$";
  size_t start = 0;
  for (;;) {
    const auto dot = key.find('.', start);
    path += ".\"" + key.substr(start, dot == std::string::npos ? std::string::npos : dot - start) + "\"";
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return path;
}

FilterSql filter_sql(const SearchFilter& f, const std::string& meta_col) {
  FilterSql out;
  if (f.empty()) {
    out.expr = "1";
    return out;
  }
  for (size_t i = 0; i < f.equals.size(); ++i) {
    const std::string path = json_path_of(f.equals[i].first);
    if (i) out.expr += " AND ";
    // json_type is NULL for a missing field, so the comparison is NULL
    // (false) and the document does not match. Objects and arrays never match.
    out.expr += "(CASE json_type(" + meta_col + ", ?) WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' "
                "WHEN 'null' THEN 'null' WHEN 'object' THEN NULL WHEN 'array' THEN NULL ELSE CAST(json_extract(" +
                meta_col + ", ?) AS TEXT) END) = ?";
    out.params.push_back(path);
    out.params.push_back(path);
    out.params.push_back(f.equals[i].second);
  }
  return out;
}

}  // namespace peft
