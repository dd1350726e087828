#include "common.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/log.h"
#include "core/threads.h"

namespace peft::cli {

void add_common_options(CLI::App& app, CommonOptions& o) {
  app.add_option("--threads", o.threads, "Worker threads (default: all cores)")->check(CLI::NonNegativeNumber);
  app.add_flag("-q,--quiet", o.quiet, "Print only results, no progress");
}

void apply_common_options(const CommonOptions& o) {
  set_threads(o.threads);
  if (o.quiet) set_log_level(LogLevel::Quiet);
}

std::string read_text_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail("io", "cannot read '" + path + "': " + std::strerror(errno));
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace peft::cli
