#include "search/snippet.h"

#include <algorithm>

namespace peft::search {

namespace {

bool is_word_byte(unsigned char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80; }

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

struct Word {
  size_t begin = 0, end = 0;  // bytes of the collapsed text
  int term = -1;              // index into the terms, -1 when unmatched
};

// One of a and b is the other plus at most three characters, and the shorter
// has at least three (or they are equal).
bool stem_match(const std::string& a, const std::string& b) {
  if (a == b) return true;
  const std::string& s = a.size() < b.size() ? a : b;
  const std::string& l = a.size() < b.size() ? b : a;
  return s.size() >= 3 && l.size() - s.size() <= 3 && l.compare(0, s.size(), s) == 0;
}

// Whitespace and control characters become one space; leading and trailing
// ones go.
std::string collapse_space(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  bool space = false;
  for (unsigned char c : text) {
    if (c <= ' ' || c == 0x7f) {
      space = true;
      continue;
    }
    if (space && !out.empty()) out.push_back(' ');
    space = false;
    out.push_back(static_cast<char>(c));
  }
  return out;
}

// Code points in s[0, n): every byte that is not a UTF-8 continuation byte.
int64_t code_points(const std::string& s, size_t n) {
  int64_t cp = 0;
  for (size_t i = 0; i < n && i < s.size(); ++i)
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) ++cp;
  return cp;
}

// Largest cut ≤ n that does not split a UTF-8 sequence.
size_t utf8_cut(const std::string& s, size_t n) {
  if (n >= s.size()) return s.size();
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return n;
}

}  // namespace

std::vector<std::string> query_terms(const std::string& query) {
  std::vector<std::string> terms;
  std::string cur;
  auto flush = [&] {
    if (cur.size() >= 2 && std::find(terms.begin(), terms.end(), cur) == terms.end() && terms.size() < 32)
      terms.push_back(cur);
    cur.clear();
  };
  for (char c : query) {
    if (is_word_byte(static_cast<unsigned char>(c)))
      cur.push_back(lower(c));
    else
      flush();
  }
  flush();
  // Marking every "of" and "the" hides the words that matter; they are
  // dropped unless the query has nothing else.
  static const char* const kStop[] = {"an",  "and",  "are",  "as",    "at",   "be",   "by",   "for",   "from",
                                      "has", "have", "how",  "in",    "is",   "it",   "its",  "of",    "on",
                                      "or",  "that", "the",  "this",  "to",   "was",  "were", "what",  "when",
                                      "where", "which", "who", "why", "will", "with", "can",  "may",   "do"};
  auto stop = [](const std::string& t) {
    for (const char* w : kStop)
      if (t == w) return true;
    return false;
  };
  if (!std::all_of(terms.begin(), terms.end(), stop)) terms.erase(std::remove_if(terms.begin(), terms.end(), stop), terms.end());
  return terms;
}

Snippet make_snippet(const std::string& text, const std::vector<std::string>& terms, size_t max_bytes) {
  const std::string norm = collapse_space(text);
  std::vector<Word> words;
  for (size_t i = 0; i < norm.size();) {
    if (!is_word_byte(static_cast<unsigned char>(norm[i]))) {
      ++i;
      continue;
    }
    Word w;
    w.begin = i;
    while (i < norm.size() && is_word_byte(static_cast<unsigned char>(norm[i]))) ++i;
    w.end = i;
    std::string low(norm, w.begin, w.end - w.begin);
    for (char& c : low) c = lower(c);
    for (size_t t = 0; t < terms.size(); ++t)
      if (stem_match(low, terms[t])) {
        w.term = static_cast<int>(t);
        break;
      }
    words.push_back(w);
  }
  Snippet out;
  if (words.empty()) {
    out.text = norm.substr(0, utf8_cut(norm, max_bytes));
    return out;
  }

  // A window starts up to a quarter of its length before a matched word (for
  // context) and runs to the last word that ends within max_bytes of its
  // start. The window with the most distinct terms wins; the first on ties.
  const size_t context = max_bytes / 4;
  auto window_from = [&](size_t m) {
    size_t b = m;
    while (b > 0 && words[m].begin - words[b - 1].begin <= context) --b;
    size_t e = b;
    while (e + 1 < words.size() && words[e + 1].end - words[b].begin <= max_bytes) ++e;
    return std::pair<size_t, size_t>{b, e};
  };
  size_t best_b = 0, best_e = window_from(0).second;
  int best_count = -1;
  std::vector<char> seen(terms.size());
  for (size_t m = 0; m < words.size(); ++m) {
    if (words[m].term < 0) continue;
    auto [b, e] = window_from(m);
    std::fill(seen.begin(), seen.end(), 0);
    int count = 0;
    for (size_t i = b; i <= e; ++i)
      if (words[i].term >= 0 && !seen[words[i].term]) {
        seen[words[i].term] = 1;
        ++count;
      }
    if (count > best_count) {
      best_count = count;
      best_b = b;
      best_e = e;
    }
  }

  const std::string lead = best_b > 0 ? "\xE2\x80\xA6 " : "";  // "… "
  const size_t from = words[best_b].begin;
  // One word longer than the window (a hash, a URL) is cut.
  const size_t to = std::min(words[best_e].end, from + utf8_cut(norm.substr(from), 2 * max_bytes));
  const bool cut_end = to < norm.size();
  out.text = lead + norm.substr(from, to - from) + (cut_end ? " \xE2\x80\xA6" : "");
  const int64_t lead_cp = best_b > 0 ? 2 : 0;
  const std::string body = norm.substr(from, to - from);
  for (size_t i = best_b; i <= best_e; ++i) {
    if (words[i].term < 0 || words[i].end > to) continue;
    const int64_t a = lead_cp + code_points(body, words[i].begin - from);
    const int64_t z = lead_cp + code_points(body, words[i].end - from);
    out.highlights.push_back({a, z});
  }
  return out;
}

}  // namespace peft::search
