#include "core/log.h"

#include <unistd.h>

#include <cstdio>

namespace peft {

static LogLevel g_level = LogLevel::Info;

void set_log_level(LogLevel level) { g_level = level; }
LogLevel log_level() { return g_level; }
void log_info(const std::string& msg) {
  if (g_level >= LogLevel::Info) std::fprintf(stderr, "%s\n", msg.c_str());
}
void log_warn(const std::string& msg) { std::fprintf(stderr, "warning: %s\n", msg.c_str()); }
void log_debug(const std::string& msg) {
  if (g_level >= LogLevel::Debug) std::fprintf(stderr, "%s\n", msg.c_str());
}
bool stderr_is_tty() { return isatty(2) == 1; }

}  // namespace peft
