// The query string of an HTTP request target, as peft serve reads it. Kept
// apart from the transport so that it can be tested and fuzzed without a
// socket (fuzz/fuzz_serve.cpp).
#pragma once
#include <map>
#include <string>

namespace peft::search {

// %XX and '+' (a space, as forms send it) decoded; a '%' not followed by
// two hex digits is kept as it is.
std::string decode_component(const std::string& s);

// The query string of a request target ("/search?q=a+b&where=section=5"),
// split at '&' and each pair at its FIRST '=' (httplib splits at every '=',
// which loses "where=section=5": the value is "section=5"). A name without
// '=' has an empty value; empty pairs are skipped. No '?' gives no
// parameters.
std::multimap<std::string, std::string> parse_query(const std::string& target);

}  // namespace peft::search
