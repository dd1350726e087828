// Python's str methods on UTF-8 text, as templates call them: strip with
// or without a character set, split, case mapping (ICU, full Unicode
// mappings as Python uses), title, splitlines.
#pragma once
#include <string>
#include <vector>

namespace peft::jinja::pystr {

// chars == nullptr: Python's whitespace.
std::string strip(const std::string& s, const std::string* chars, bool left, bool right);
// sep == nullptr: runs of whitespace, ignoring leading/trailing ones.
// maxsplit < 0: no limit. Throws EvalError for an empty separator.
std::vector<std::string> split(const std::string& s, const std::string* sep, long maxsplit);
std::vector<std::string> rsplit(const std::string& s, const std::string* sep, long maxsplit);
std::vector<std::string> splitlines(const std::string& s, bool keepends);
std::string upper(const std::string& s);
std::string lower(const std::string& s);
// str.title(): a cased letter after a non-cased character starts a word.
std::string title(const std::string& s);
// str.capitalize(): first character title-cased, the rest lowercased.
std::string capitalize(const std::string& s);
// str.replace(old, new, count); count < 0: all.
std::string replace(const std::string& s, const std::string& from, const std::string& to, long count);
// Non-overlapping occurrences of `sub` (empty: code points + 1).
long count(const std::string& s, const std::string& sub);
// Code-point index of the first (or last) occurrence, -1 when absent.
long find(const std::string& s, const std::string& sub, bool last);
// Number of code points.
long length(const std::string& s);
bool is_space_cp(char32_t c);

}  // namespace peft::jinja::pystr
