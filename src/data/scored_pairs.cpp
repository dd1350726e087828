#include "data/scored_pairs.h"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <string_view>

#include "core/error.h"
#include "data/jsonl.h"
#include "io/atomic_file.h"

namespace peft {

namespace {

[[noreturn]] void fail_at(const std::string& path, int64_t line, const std::string& problem) {
  fail("data", path + ":" + std::to_string(line) + ": " + problem);
}

// A finite decimal number and nothing else (strtod also takes "inf", "nan"
// and leading blanks, which a score column should not hold).
bool parse_score(std::string_view s, double& out) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s)
    if (!(std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E'))
      return false;
  std::string z(s);
  char* end = nullptr;
  out = std::strtod(z.c_str(), &end);
  return end == z.c_str() + z.size() && std::isfinite(out);
}

}  // namespace

std::vector<ScoredPair> parse_sts_tsv(const std::string& text_in, const std::string& path) {
  std::string_view text = text_in;
  if (text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  std::vector<ScoredPair> out;
  int64_t line = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view l = text.substr(pos, end - pos);
    pos = end + 1;
    ++line;
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    if (l.find_first_not_of(" \t") == std::string_view::npos) continue;
    std::vector<std::string_view> f;
    for (size_t p = 0;;) {
      size_t t = l.find('\t', p);
      f.push_back(l.substr(p, t == std::string_view::npos ? std::string_view::npos : t - p));
      if (t == std::string_view::npos) break;
      p = t + 1;
    }
    if (f.size() < 7) {
      fail_at(path, line, "expected at least 7 tab-separated fields (genre, file, year, id, score, sentence1, "
                          "sentence2), got " + std::to_string(f.size()));
    }
    ScoredPair p;
    if (!parse_score(f[4], p.score)) fail_at(path, line, "score '" + std::string(f[4]) + "' (field 5) is not a number");
    p.sentence1 = std::string(f[5]);
    p.sentence2 = std::string(f[6]);
    if (p.sentence1.empty() || p.sentence2.empty()) fail_at(path, line, "empty sentence");
    p.line = line;
    out.push_back(std::move(p));
  }
  if (out.empty()) fail("data", path + ": holds no sentence pairs");
  return out;
}

std::vector<ScoredPair> parse_scored_pairs_jsonl(const std::string& text, const std::string& path) {
  std::vector<ScoredPair> out;
  for (const JsonlRecord& r : parse_jsonl(text, path)) {
    ScoredPair p;
    p.line = r.line;
    for (auto [name, dst] : {std::pair{"sentence1", &p.sentence1}, std::pair{"sentence2", &p.sentence2}}) {
      auto it = r.value.find(name);
      if (it == r.value.end()) fail_at(path, r.line, std::string("record has no \"") + name + "\" field");
      if (!it->is_string()) fail_at(path, r.line, std::string("\"") + name + "\" must be a string");
      *dst = it->get<std::string>();
    }
    auto it = r.value.find("score");
    if (it == r.value.end()) fail_at(path, r.line, "record has no \"score\" field");
    if (!it->is_number()) fail_at(path, r.line, "\"score\" must be a number");
    p.score = it->get<double>();
    if (!std::isfinite(p.score)) fail_at(path, r.line, "\"score\" is not finite");
    out.push_back(std::move(p));
  }
  if (out.empty()) fail("data", path + ": holds no sentence pairs");
  return out;
}

std::vector<ScoredPair> read_scored_pairs(const std::string& path) {
  std::string text = read_file_bytes(path);
  size_t i = text.size() >= 3 && text.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;
  size_t first = text.find_first_not_of(" \t\r\n", i);
  if (first != std::string::npos && (text[first] == '{' || text[first] == '['))
    return parse_scored_pairs_jsonl(text, path);
  return parse_sts_tsv(text, path);
}

}  // namespace peft
