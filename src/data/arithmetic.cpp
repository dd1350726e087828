#include "data/arithmetic.h"

#include "core/rng.h"

namespace peft {

std::vector<ArithProblem> arithmetic_problems(ArithOp op, int64_t n, int max_operand, uint64_t seed) {
  Rng rng(seed);
  std::vector<ArithProblem> r;
  r.reserve(n);
  for (int64_t i = 0; i < n; ++i) {
    int a = static_cast<int>(rng.below(max_operand + 1));
    int b = static_cast<int>(rng.below(max_operand + 1));
    if (op == ArithOp::Sub && a < b) std::swap(a, b);
    int c = op == ArithOp::Add ? a + b : a - b;
    r.push_back({std::to_string(a) + (op == ArithOp::Add ? "+" : "-") + std::to_string(b) + "=", std::to_string(c)});
  }
  return r;
}

std::string arithmetic_text(const std::vector<ArithProblem>& problems) {
  std::string s;
  for (const auto& p : problems) s += p.prompt + p.answer + "\n";
  return s;
}

}  // namespace peft
