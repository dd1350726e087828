#include "data/jsonl.h"

#include "core/error.h"
#include "io/atomic_file.h"

namespace peft {

namespace {

const char* kind_name(const nlohmann::ordered_json& v) {
  if (v.is_array()) return "an array";
  if (v.is_string()) return "a string";
  if (v.is_number()) return "a number";
  if (v.is_boolean()) return "a boolean";
  if (v.is_null()) return "null";
  return "not an object";
}

[[noreturn]] void fail_at(const std::string& path, int64_t line, const std::string& problem) {
  fail("data", path + ":" + std::to_string(line) + ": " + problem);
}

// nlohmann's messages start with "[json.exception.parse_error.101] "; the
// part after it says what and where within the line. Parsing throws
// out_of_range too (a number beyond a double, "1e999"), so every
// nlohmann exception is bad input here.
std::string parse_problem(const nlohmann::ordered_json::exception& e) {
  std::string m = e.what();
  size_t close = m.find("] ");
  if (m.rfind("[json.exception", 0) == 0 && close != std::string::npos) m = m.substr(close + 2);
  return "not valid JSON (" + m + ")";
}

bool blank(std::string_view s) {
  for (char c : s)
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') return false;
  return true;
}

}  // namespace

std::vector<JsonlRecord> parse_jsonl(const std::string& text_in, const std::string& path) {
  std::string_view text = text_in;
  // A UTF-8 byte order mark is not part of the first record.
  if (text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  std::vector<JsonlRecord> out;

  size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && text[first] == '[') {
    nlohmann::ordered_json all;
    try {
      all = nlohmann::ordered_json::parse(text.begin(), text.end());
    } catch (const nlohmann::ordered_json::exception& e) {
      fail("data", path + ": " + parse_problem(e));
    }
    int64_t i = 0;
    for (auto& v : all) {
      ++i;
      if (!v.is_object()) fail_at(path, i, std::string("record is ") + kind_name(v) + ", expected a JSON object");
      out.push_back({i, std::move(v)});
    }
    return out;
  }

  int64_t line = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view l = text.substr(pos, end - pos);
    pos = end + 1;
    ++line;
    if (blank(l)) continue;
    nlohmann::ordered_json v;
    try {
      v = nlohmann::ordered_json::parse(l.begin(), l.end());
    } catch (const nlohmann::ordered_json::exception& e) {
      fail_at(path, line, parse_problem(e));
    }
    if (!v.is_object()) fail_at(path, line, std::string("line is ") + kind_name(v) + ", expected a JSON object");
    out.push_back({line, std::move(v)});
  }
  return out;
}

std::vector<JsonlRecord> read_jsonl(const std::string& path) { return parse_jsonl(read_file_bytes(path), path); }

}  // namespace peft
