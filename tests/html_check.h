// Checks on the report's HTML shared by the report tests: a small XML
// well-formedness check (every tag closed in order, attributes quoted, no raw
// '<' or stray '&' in text), and helpers that pick SVG charts and elements
// out of the page by their attributes.
#pragma once
#include <regex>
#include <string>
#include <vector>

namespace peft::test {

// "" when `s` is well-formed XML-ish markup, else what is wrong and where.
// <!DOCTYPE ...> is skipped; the bodies of <script> and <style> are not
// markup and are skipped too.
inline std::string xml_problem(const std::string& s) {
  std::vector<std::string> stack;
  size_t i = 0;
  auto where = [&](size_t at) { return " at offset " + std::to_string(at) + ": '" + s.substr(at, 60) + "'"; };
  while (i < s.size()) {
    if (s[i] == '&') {
      size_t semi = s.find(';', i);
      if (semi == std::string::npos || semi - i > 10) return "stray '&'" + where(i);
      const std::string ent = s.substr(i + 1, semi - i - 1);
      if (!std::regex_match(ent, std::regex("amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+")))
        return "unknown entity" + where(i);
      i = semi + 1;
      continue;
    }
    if (s[i] == '>') return "raw '>' in text" + where(i);
    if (s[i] != '<') {
      ++i;
      continue;
    }
    if (s.compare(i, 9, "<!DOCTYPE") == 0) {
      i = s.find('>', i) + 1;
      continue;
    }
    if (s.compare(i, 4, "<!--") == 0) {
      size_t e = s.find("-->", i);
      if (e == std::string::npos) return "unclosed comment" + where(i);
      i = e + 3;
      continue;
    }
    const bool closing = i + 1 < s.size() && s[i + 1] == '/';
    size_t j = i + (closing ? 2 : 1);
    size_t name_end = j;
    while (name_end < s.size() && (std::isalnum(static_cast<unsigned char>(s[name_end])) || s[name_end] == '-' ||
                                   s[name_end] == ':'))
      ++name_end;
    const std::string name = s.substr(j, name_end - j);
    if (name.empty()) return "bad tag" + where(i);
    // Attributes: name="value" (value without '<' or a raw '"').
    size_t k = name_end;
    bool self_close = false;
    while (true) {
      while (k < s.size() && std::isspace(static_cast<unsigned char>(s[k]))) ++k;
      if (k >= s.size()) return "unterminated tag" + where(i);
      if (s[k] == '>') {
        ++k;
        break;
      }
      if (s[k] == '/' && k + 1 < s.size() && s[k + 1] == '>') {
        self_close = true;
        k += 2;
        break;
      }
      if (closing) return "attributes on a closing tag" + where(i);
      size_t a = k;
      while (k < s.size() && (std::isalnum(static_cast<unsigned char>(s[k])) || s[k] == '-' || s[k] == ':' || s[k] == '_')) ++k;
      if (k == a || k + 1 >= s.size() || s[k] != '=' || s[k + 1] != '"') return "unquoted or bad attribute" + where(a);
      size_t end = s.find('"', k + 2);
      if (end == std::string::npos) return "unterminated attribute" + where(a);
      if (s.substr(k + 2, end - k - 2).find('<') != std::string::npos) return "'<' inside an attribute" + where(a);
      k = end + 1;
    }
    if (closing) {
      if (stack.empty() || stack.back() != name)
        return "</" + name + "> closes " + (stack.empty() ? std::string("nothing") : "<" + stack.back() + ">") + where(i);
      stack.pop_back();
    } else if (!self_close) {
      if (name == "script" || name == "style") {
        size_t e = s.find("</" + name + ">", k);
        if (e == std::string::npos) return "unclosed <" + name + ">" + where(i);
        k = e + name.size() + 3;
      } else {
        stack.push_back(name);
      }
    }
    i = k;
  }
  if (!stack.empty()) return "<" + stack.back() + "> never closed";
  return "";
}

// The <svg ...>...</svg> elements whose data-chart is `kind`.
inline std::vector<std::string> charts(const std::string& html, const std::string& kind) {
  std::vector<std::string> out;
  const std::string open = "<svg class=\"chart\" data-chart=\"" + kind + "\"";
  for (size_t p = html.find(open); p != std::string::npos; p = html.find(open, p + 1)) {
    size_t e = html.find("</svg>", p);
    out.push_back(html.substr(p, e + 6 - p));
  }
  return out;
}

// Every start tag of element `tag` in `s` that contains all of `attrs`
// (each a literal like  class="bar" ).
inline std::vector<std::string> elements(const std::string& s, const std::string& tag,
                                         const std::vector<std::string>& attrs) {
  std::vector<std::string> out;
  const std::string open = "<" + tag + " ";
  for (size_t p = s.find(open); p != std::string::npos; p = s.find(open, p + 1)) {
    const std::string t = s.substr(p, s.find('>', p) + 1 - p);
    bool all = true;
    for (const auto& a : attrs) all = all && t.find(a) != std::string::npos;
    if (all) out.push_back(t);
  }
  return out;
}

// The value of attribute `name` in a start tag ("" when absent).
inline std::string attr(const std::string& tag, const std::string& name) {
  const std::string key = " " + name + "=\"";
  size_t p = tag.find(key);
  if (p == std::string::npos) return "";
  p += key.size();
  return tag.substr(p, tag.find('"', p) - p);
}

// Number of "x,y" pairs in a polyline's points.
inline size_t point_count(const std::string& polyline_tag) {
  const std::string pts = attr(polyline_tag, "points");
  if (pts.empty()) return 0;
  size_t n = 1;
  for (char c : pts) n += c == ' ';
  return n;
}

// src= or href= pointing anywhere outside the page (a scheme or //host), and
// CSS url()/@import of the same.
inline std::vector<std::string> external_references(const std::string& html) {
  std::vector<std::string> out;
  std::regex re(R"(((src|href|xlink:href|action)\s*=\s*["']?\s*([a-zA-Z][a-zA-Z0-9+.-]*:|//))|url\(\s*["']?\s*(https?:|//)|@import)",
                std::regex::icase);
  for (auto it = std::sregex_iterator(html.begin(), html.end(), re); it != std::sregex_iterator(); ++it)
    out.push_back(it->str());
  return out;
}

}  // namespace peft::test
