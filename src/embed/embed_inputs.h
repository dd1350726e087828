// The texts `peft embed` (and the evaluators) read, and the JSONL they write.
//
// Input, by file name:
//   *.jsonl / *.json  one object per line (data/jsonl.h): "text", or BEIR's
//                     corpus form "title" + "text" (joined "title text", as
//                     BEIR's dense models do; an empty title adds nothing);
//                     "_id" (BEIR) or "id" is kept as the row's id.
//   anything else     plain text, one text per line ('\n' or "\r\n"); a
//                     final newline ends the last line and adds no text.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace peft {

struct EmbedInputs {
  std::vector<std::string> texts;
  // One id per text: the record's "_id"/"id" (as text; numbers printed as
  // JSON writes them), or empty when the file gives none.
  std::vector<std::string> ids;
  bool has_ids = false;  // some record had an id
};

// Throws InputError "[embed] <path>:<line>: ..." for a JSONL record without
// a string "text" (or with a non-string "title"), and "[data] ..." for a
// line that is not a JSON object.
EmbedInputs read_embed_inputs(const std::string& path);

// "title text", or just text when title is empty.
std::string beir_text(const std::string& title, const std::string& text);

// One line per row: {"id": <id or the 0-based row index>, "embedding": [...]}.
// Floats are printed with 9 significant digits (they read back to the same
// float32). Written atomically.
void write_embeddings_jsonl(const std::string& path, const std::vector<std::string>& ids, const float* data,
                            int64_t rows, int64_t cols);
// One row as "[x, y, ...]" with 9 significant digits.
std::string embedding_json(const float* row, int64_t cols);

}  // namespace peft
