// Reading a corpus for `peft index build/add`: documents from a JSONL file
// or from a folder of .txt/.md files, optionally split into overlapping
// chunks of a bounded token count.
//
// JSONL: one object per line; "_id" (BEIR) or "id" (string or number), an
// optional string "title", a string "text"; every other field is kept as the
// document's metadata.
// Folder: every .txt and .md file below it (sorted by path) is one document;
// its id is the path relative to the folder, its title the first line of a
// .md file that starts with '#' (else the file name without extension), its
// metadata {"path": <relative path>}.
//
// Chunking (chunk_tokens > 0): the text is split at whitespace into words,
// and consecutive words are grouped so that each chunk's token count (the
// sum of the words' counts, as `count_tokens` measures a word with its
// leading space) stays within chunk_tokens, each chunk repeating the last
// words of the one before worth at least chunk_overlap tokens. A document
// that fits is kept whole. Chunk j of document D gets id "D#j" (j from 0)
// and metadata "parent": D and "chunk": j besides D's own.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "search/index.h"

namespace peft {

// Throws InputError "[search] <path>:<line>: ..." for a record without a
// string text or id, a repeated id, and "[search] <path>: ..." for a path
// that is neither a file nor a folder, or a folder with no .txt/.md files.
std::vector<SearchDocument> read_corpus(const std::string& path);

// Splits documents into chunks (see above). chunk_overlap < chunk_tokens;
// throws InputError "[search] ..." otherwise.
std::vector<SearchDocument> chunk_documents(const std::vector<SearchDocument>& docs, int64_t chunk_tokens,
                                            int64_t chunk_overlap,
                                            const std::function<int64_t(const std::string&)>& count_tokens);

// The text a document is embedded as: "title text", or the text alone when
// the title is empty, as BEIR's dense baselines (and `peft eval retrieval`)
// feed a document to the model.
std::string document_embed_text(const SearchDocument& d);

}  // namespace peft
