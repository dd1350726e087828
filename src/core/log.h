// Logging to stderr. stdout is reserved for a command's results (generated
// text, JSON), so everything informational goes here.
#pragma once
#include <string>

namespace peft {

enum class LogLevel { Quiet = 0, Info = 1, Debug = 2 };
void set_log_level(LogLevel level);
LogLevel log_level();
void log_info(const std::string& msg);
void log_warn(const std::string& msg);  // always shown: "warning: ..."
void log_debug(const std::string& msg);
// True when stderr is a terminal (progress lines then redraw in place).
bool stderr_is_tty();

}  // namespace peft
