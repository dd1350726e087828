// Writing a whole file so that readers never see half of it: the bytes go to
// `path`.tmp, which is renamed over `path` once complete.
#pragma once
#include <string>

namespace peft {

// Throws InputError "[io] cannot write '<path>': <reason>".
void write_file_atomic(const std::string& path, const std::string& bytes);
// Reads a whole file; throws InputError "[io] cannot read '<path>': <reason>".
std::string read_file_bytes(const std::string& path);

// Early checks for outputs, so a command refuses an output it could never
// write before it spends minutes loading a model or training. Both create a
// probe file (one byte, then removed) where the output will go, which also
// catches a read-only or full file system; they leave nothing behind.
// Throws InputError "[area] cannot write '<path>': <reason>".
//
// `path` will be written as one file: its folder must exist and take new
// files, and `path` must not be a folder.
void check_file_writable(const std::string& path, const std::string& area);
// `dir` will be a folder of outputs: it (or the first missing part of it)
// must be creatable, and it must take new files.
void check_dir_writable(const std::string& dir, const std::string& area);

}  // namespace peft
