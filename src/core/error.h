// Errors: every library error is a peft::Error whose message starts with its
// area in brackets, e.g. "[gguf] tensor 'x' ends past the end of the file".
// The CLI prints the one line and exits 2 for bad input (InputError) or 1 for
// internal faults (any other exception).
#pragma once
#include <stdexcept>
#include <string>

namespace peft {

// Something the user gave us is wrong: a file, a flag, a value.
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws InputError("[area] message").
[[noreturn]] void fail(const std::string& area, const std::string& message);

// An invariant of our own code failed: a bug, not bad input.
[[noreturn]] void internal_fail(const std::string& area, const std::string& message);

#define PEFT_CHECK(cond, area, msg)                  \
  do {                                               \
    if (!(cond)) ::peft::internal_fail(area, msg);   \
  } while (0)

}  // namespace peft
