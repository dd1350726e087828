// One colour per method, the same in every chart of a report, so a reader
// who learns "LoRA is blue" reads every picture with it. Several runs of one
// method (LoRA at two ranks) get shades of its colour, darker to lighter in
// the order they are given.
#pragma once
#include <string>
#include <vector>

#include "report/run.h"

namespace peft::report {

// "#rrggbb" for a method's base colour (a grey for methods it does not know).
std::string method_colour(const std::string& method);
// The colour of each run, in order.
std::vector<std::string> run_colours(const std::vector<RunData>& runs);

}  // namespace peft::report
