#include "data/records.h"

#include "core/error.h"

namespace peft {

namespace {

[[noreturn]] void fail_at(const std::string& path, int64_t line, const std::string& problem) {
  fail("data", path + ":" + std::to_string(line) + ": " + problem);
}

const char* json_type(const nlohmann::ordered_json& v) {
  if (v.is_string()) return "a string";
  if (v.is_number()) return "a number";
  if (v.is_boolean()) return "a boolean";
  if (v.is_null()) return "null";
  if (v.is_array()) return "an array";
  return "an object";
}

std::string string_field(const JsonlRecord& r, const std::string& field, const std::string& path, RecordKind kind) {
  auto it = r.value.find(field);
  if (it == r.value.end())
    fail_at(path, r.line, std::string("missing field \"") + field + "\" (the data holds " + record_kind_name(kind) +
                              " records, as its first record does)");
  if (!it->is_string()) fail_at(path, r.line, "field \"" + field + "\" is " + json_type(*it) + ", expected a string");
  return it->get<std::string>();
}

}  // namespace

const char* record_kind_name(RecordKind k) {
  switch (k) {
    case RecordKind::Text: return "text";
    case RecordKind::PromptCompletion: return "prompt/completion";
    case RecordKind::Messages: return "messages";
  }
  return "?";
}

RecordKind detect_record_kind(const JsonlRecord& r, const FieldNames& n, const std::string& path) {
  bool has_p = r.value.contains(n.prompt), has_c = r.value.contains(n.completion);
  if (has_p && has_c) return RecordKind::PromptCompletion;
  if (r.value.contains(n.messages)) return RecordKind::Messages;
  if (r.value.contains(n.text)) return RecordKind::Text;
  if (has_p || has_c)
    fail_at(path, r.line, "has \"" + (has_p ? n.prompt : n.completion) + "\" but no \"" + (has_p ? n.completion : n.prompt) +
                              "\"");
  std::string keys;
  for (auto it = r.value.begin(); it != r.value.end(); ++it) keys += (keys.empty() ? "" : ", ") + ("\"" + it.key() + "\"");
  fail_at(path, r.line,
          "cannot tell the record kind: expected \"" + n.text + "\", \"" + n.prompt + "\" with \"" + n.completion +
              "\", or \"" + n.messages + "\" (fields: " + (keys.empty() ? "none" : keys) +
              "; other names can be mapped with --text-field, --prompt-field and --completion-field)");
}

Record to_record(const JsonlRecord& r, RecordKind kind, const FieldNames& n, const std::string& path) {
  Record out;
  out.line = r.line;
  out.kind = kind;
  switch (kind) {
    case RecordKind::Text:
      out.text = string_field(r, n.text, path, kind);
      break;
    case RecordKind::PromptCompletion:
      out.prompt = string_field(r, n.prompt, path, kind);
      out.completion = string_field(r, n.completion, path, kind);
      break;
    case RecordKind::Messages: {
      auto it = r.value.find(n.messages);
      if (it == r.value.end())
        fail_at(path, r.line, "missing field \"" + n.messages + "\" (the data holds messages records, as its first record does)");
      if (!it->is_array()) fail_at(path, r.line, "field \"" + n.messages + "\" is " + json_type(*it) + ", expected an array");
      if (it->empty()) fail_at(path, r.line, "field \"" + n.messages + "\" is an empty list");
      int64_t i = 0;
      for (const auto& m : *it) {
        std::string where = "message " + std::to_string(i++);
        if (!m.is_object()) fail_at(path, r.line, where + " is " + json_type(m) + ", expected an object");
        auto role = m.find("role");
        if (role == m.end()) fail_at(path, r.line, where + " has no \"role\"");
        if (!role->is_string()) fail_at(path, r.line, where + ": \"role\" is " + json_type(*role) + ", expected a string");
        auto content = m.find("content");
        if (content == m.end()) fail_at(path, r.line, where + " has no \"content\"");
        if (!content->is_string())
          fail_at(path, r.line, where + ": \"content\" is " + json_type(*content) + ", expected a string");
      }
      out.messages = *it;
      break;
    }
  }
  return out;
}

std::vector<Record> read_records(const std::string& path, const FieldNames& names) {
  std::vector<JsonlRecord> raw = read_jsonl(path);
  if (raw.empty()) fail("data", "'" + path + "' holds no records");
  RecordKind kind = detect_record_kind(raw.front(), names, path);
  std::vector<Record> out;
  out.reserve(raw.size());
  for (const JsonlRecord& r : raw) out.push_back(to_record(r, kind, names, path));
  return out;
}

std::vector<Record> read_records(const std::string& path, const FieldNames& names, RecordKind kind) {
  std::vector<JsonlRecord> raw = read_jsonl(path);
  if (raw.empty()) fail("data", "'" + path + "' holds no records");
  std::vector<Record> out;
  out.reserve(raw.size());
  for (const JsonlRecord& r : raw) out.push_back(to_record(r, kind, names, path));
  return out;
}

}  // namespace peft
