// Writing a whole file so that readers never see half of it: the bytes go to
// `path`.tmp, which is renamed over `path` once complete.
#pragma once
#include <string>

namespace peft {

// Throws InputError "[io] cannot write '<path>': <reason>".
void write_file_atomic(const std::string& path, const std::string& bytes);
// Reads a whole file; throws InputError "[io] cannot read '<path>': <reason>".
std::string read_file_bytes(const std::string& path);

}  // namespace peft
