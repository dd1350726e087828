#include "common.h"

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

}  // namespace peft::cli
