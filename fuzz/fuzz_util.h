// Shared helpers of the libFuzzer targets (one target per file in fuzz/).
//
// Most of our readers take a path (they memory-map the file or read a
// folder), so each target writes its input to a scratch file of its own
// process and hands the reader that path. A reader may answer any input with
// peft::InputError (one "[area] ..." line, what a user sees); any other
// exception escaping it is a bug (the CLI would print an "internal" error or
// a library's message without our area), so run_guarded() aborts on it and
// libFuzzer records the input as a crash.
#pragma once
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <string>
#include <string_view>

#include "core/error.h"

namespace peft::fuzz {

// A folder of this process's own under /dev/shm (memory, no disk writes) or
// the temporary directory, created once and reused for every input.
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    std::error_code ec;
    std::filesystem::path base = std::filesystem::is_directory("/dev/shm", ec)
                                     ? std::filesystem::path("/dev/shm")
                                     : std::filesystem::temp_directory_path();
    auto d = base / ("peft-fuzz-" + std::to_string(getpid()));
    std::filesystem::create_directories(d);
    return d;
  }();
  return dir;
}

// Writes bytes to scratch_dir()/name and returns the full path.
inline std::string write_scratch(const std::string& name, std::string_view bytes) {
  std::string path = (scratch_dir() / name).string();
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) std::abort();
  if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size()) std::abort();
  std::fclose(f);
  return path;
}

// Splits an input into parts at a separator line ("\n--8<--\n"): the first
// part is the file, later parts are the strings a target feeds it (text to
// encode, a second file). Missing parts are empty.
inline std::string_view part(std::string_view in, int index) {
  static constexpr std::string_view kSep = "\n--8<--\n";
  for (int i = 0; i < index; ++i) {
    size_t at = in.find(kSep);
    if (at == std::string_view::npos) return {};
    in.remove_prefix(at + kSep.size());
  }
  size_t at = in.find(kSep);
  return at == std::string_view::npos ? in : in.substr(0, at);
}

// Runs fn; InputError is the expected answer to bad input, anything else
// aborts with the exception's text.
template <class Fn>
void run_guarded(Fn&& fn) {
  try {
    fn();
  } catch (const peft::InputError&) {
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz: escaped exception (not an InputError): %s\n", e.what());
    std::abort();
  }
}

}  // namespace peft::fuzz
