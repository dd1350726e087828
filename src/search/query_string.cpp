#include "search/query_string.h"

namespace peft::search {

std::string decode_component(const std::string& s) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::multimap<std::string, std::string> parse_query(const std::string& target) {
  std::multimap<std::string, std::string> out;
  const size_t q = target.find('?');
  if (q == std::string::npos) return out;
  size_t start = q + 1;
  while (start <= target.size()) {
    size_t end = target.find('&', start);
    if (end == std::string::npos) end = target.size();
    const std::string pair = target.substr(start, end - start);
    if (!pair.empty()) {
      const size_t eq = pair.find('=');
      if (eq == std::string::npos)
        out.emplace(decode_component(pair), "");
      else
        out.emplace(decode_component(pair.substr(0, eq)), decode_component(pair.substr(eq + 1)));
    }
    start = end + 1;
  }
  return out;
}

}  // namespace peft::search
