#include "tokenizer/hf/pattern.h"

namespace peft::hf {

Pattern Pattern::from_json(const Json& j, const std::string& where) {
  Pattern p;
  if (j.is_object() && j.contains("String") && j.at("String").is_string()) {
    p.literal_ = j.at("String").get<std::string>();
  } else if (j.is_object() && j.contains("Regex") && j.at("Regex").is_string()) {
    p.regex_ = std::make_shared<Regex>(j.at("Regex").get<std::string>());
  } else if (j.is_string()) {  // some writers store a bare string
    p.literal_ = j.get<std::string>();
  } else {
    bad_format(where + ": pattern must be {\"String\": ...} or {\"Regex\": ...}");
  }
  return p;
}

Pattern Pattern::literal(std::string text) {
  Pattern p;
  p.literal_ = std::move(text);
  return p;
}

void Pattern::find(std::string_view s, std::vector<Span>& out) const {
  if (regex_) {
    regex_->find_all(s, out);
  } else {
    find_literal(s, literal_, out);
  }
}

std::string Pattern::replace_all(std::string_view s, std::string_view content) const {
  std::vector<Span> spans;
  find(s, spans);
  if (spans.empty()) return std::string(s);
  std::string out;
  out.reserve(s.size());
  size_t prev = 0;
  for (const Span& m : spans) {
    out.append(s.substr(prev, m.begin - prev));
    out.append(content);
    prev = m.end;
  }
  out.append(s.substr(prev));
  return out;
}

}  // namespace peft::hf
