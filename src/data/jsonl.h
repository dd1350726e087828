// Reading JSONL data files: one JSON object per line. Blank lines are
// skipped; every other line must parse as a JSON object, and a line that
// does not is reported with the file's name and the line number, so a user
// can find it in a file of thousands of records.
//
// A file whose first non-blank character is '[' is read as one JSON array of
// objects instead (the ".json" form many datasets ship in); its records are
// then numbered by their 1-based position in the array.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace peft {

struct JsonlRecord {
  int64_t line = 0;              // 1-based line (or array position) of the record
  nlohmann::ordered_json value;  // always an object
};

// Throws InputError "[data] <path>:<line>: <problem>" for a line that is not
// JSON or not an object, and "[data] <path>: ..." when the file cannot be read.
std::vector<JsonlRecord> read_jsonl(const std::string& path);

// The same over text already in memory (`path` only names it in errors).
std::vector<JsonlRecord> parse_jsonl(const std::string& text, const std::string& path);

}  // namespace peft
