// Sentence pairs with a similarity score (STS data), from two layouts:
//
//   STS benchmark files (sts-train.csv, sts-dev.csv, sts-test.csv as the
//   STS wiki ships them): tab-separated, no header, no quoting,
//     genre  file  year  id  score  sentence1  sentence2  [license fields...]
//   Quirks of the real files: some rows carry one or two extra columns after
//   sentence2 (the source's license, e.g. "Europe Media Monitor (...)"),
//   which are ignored; sentences contain bare double quotes, which are text,
//   not CSV quoting; scores are written "4", "3.800" or "0.000000".
//
//   JSONL (or a JSON array): {"sentence1": "...", "sentence2": "...",
//   "score": 0.8}, the field names sentence-transformers' scored-pair
//   datasets use.
//
// Which layout a file is comes from its first non-blank character: '{' or
// '[' is JSON, anything else the tab-separated form. Errors are one line,
// "[data] FILE:LINE: problem".
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace peft {

struct ScoredPair {
  std::string sentence1, sentence2;
  double score = 0;
  int64_t line = 0;  // 1-based line of the record in its file
};

std::vector<ScoredPair> read_scored_pairs(const std::string& path);
// The two layouts over text in memory (`path` names it in errors).
std::vector<ScoredPair> parse_sts_tsv(const std::string& text, const std::string& path);
std::vector<ScoredPair> parse_scored_pairs_jsonl(const std::string& text, const std::string& path);

}  // namespace peft
