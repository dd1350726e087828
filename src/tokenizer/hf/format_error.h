// What the tokenizer.json readers throw for a file they cannot use; the
// loader (hf_tokenizer.cpp) turns it into "[tokenizer] <path>: <problem>",
// since only it knows the path.
#pragma once
#include <stdexcept>
#include <string>

namespace peft::hf {

class FormatError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

[[noreturn]] inline void bad_format(const std::string& problem) { throw FormatError(problem); }

}  // namespace peft::hf
