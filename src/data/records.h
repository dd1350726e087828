// Data records: what one JSONL line holds once its kind is known.
//
//   Text              {"text": "..."}                      all tokens scored
//   PromptCompletion  {"prompt": "...", "completion": "..."} completion scored
//   Messages          {"messages": [{"role", "content"}, ...]} assistant turns scored
//
// The field names of the first two kinds can be renamed (GSM8K stores
// "question" / "answer"). The kind is detected from the first record's
// fields and every later record must be of the same kind; one that is not is
// reported with its line number.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "data/jsonl.h"

namespace peft {

enum class RecordKind { Text, PromptCompletion, Messages };

const char* record_kind_name(RecordKind k);

struct FieldNames {
  std::string text = "text";
  std::string prompt = "prompt";
  std::string completion = "completion";
  std::string messages = "messages";
};

struct Record {
  int64_t line = 0;
  RecordKind kind = RecordKind::Text;
  std::string text;                  // Text
  std::string prompt, completion;    // PromptCompletion
  nlohmann::ordered_json messages;   // Messages: an array of objects with string role and content
};

// The kind a record's fields say it is: the prompt/completion pair, then
// messages, then text. Throws "[data] <path>:<line>: ..." naming the fields
// it looked for when none is present.
RecordKind detect_record_kind(const JsonlRecord& r, const FieldNames& names, const std::string& path);

// Reads a record of the given kind; throws "[data] <path>:<line>: ..." for a
// missing field or a field of the wrong type.
Record to_record(const JsonlRecord& r, RecordKind kind, const FieldNames& names, const std::string& path);

// All records of a file (kind from the first record). Throws when the file
// holds no records.
std::vector<Record> read_records(const std::string& path, const FieldNames& names);
// The same with the kind given (an evaluation file must match the training one).
std::vector<Record> read_records(const std::string& path, const FieldNames& names, RecordKind kind);

}  // namespace peft
