// A content identity for model and adapter files: a 128-bit hash (hex) of a
// file's bytes, or of a folder's regular files (relative path, size and
// bytes, in sorted path order; hidden files skipped). Not cryptographic: it
// tells "the same model" from "another or retrained model", which is what an
// index manifest needs, at memory speed (about 1 s per 5 GB here).
#pragma once
#include <string>

namespace peft {

// Throws InputError "[search] cannot read '<path>': ..." for a missing path.
std::string content_id(const std::string& path);

}  // namespace peft
