// A short passage of a document around the words of a query, with the
// matched words marked, for search results.
//
// Words are runs of ASCII letters and digits and of non-ASCII bytes (so a
// UTF-8 character is never split); matching ignores ASCII case and accepts
// a word and a query term when one is the other plus at most three trailing
// characters and the shorter has at least three ("file" ~ "files",
// "search" ~ "searching"): a cheap stand-in for stemming that only decides
// what is marked, never what is found.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace peft::search {

struct Snippet {
  std::string text;  // whitespace collapsed to single spaces; "…" where cut
  // [begin, end) of each marked word, in Unicode code points of `text` (what
  // Array.from(s) indexes in JavaScript and s[i] in Python), ascending.
  std::vector<std::pair<int64_t, int64_t>> highlights;
};

// The query's distinct words of two or more characters, lowercased
// (ASCII), in order of appearance; common English function words ("of",
// "the", "on", ...) left out unless the query has only those.
std::vector<std::string> query_terms(const std::string& query);

// The window of about `max_bytes` bytes of `text` holding the most distinct
// query terms (the first such window; the start of the text when none
// matches), cut at word boundaries.
Snippet make_snippet(const std::string& text, const std::vector<std::string>& terms, size_t max_bytes = 240);

}  // namespace peft::search
