// A synthetic corpus whose learning a person can watch: arithmetic facts
// such as "37+58=95\n". Deterministic from a seed. The demo pretrains on
// addition and fine-tunes on a new operation.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace peft {

enum class ArithOp { Add, Sub };

struct ArithProblem {
  std::string prompt;  // "37+58="
  std::string answer;  // "95"
};

// n problems with operands in [0, max_operand]; for Sub the first operand is
// the larger, so answers are never negative.
std::vector<ArithProblem> arithmetic_problems(ArithOp op, int64_t n, int max_operand, uint64_t seed);
// The problems as one text, one "prompt answer\n" per line.
std::string arithmetic_text(const std::vector<ArithProblem>& problems);

}  // namespace peft
