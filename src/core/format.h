// Text formatting shared by the library and the CLI.
#pragma once
#include <string>

namespace peft {

// A duration for progress lines, rounded to whole seconds: "45s", "1m23s",
// "2h05m" (seconds dropped past an hour). Negative input reads as 0.
std::string format_duration(double seconds);

}  // namespace peft
