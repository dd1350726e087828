// Small helpers shared by the subcommands: options every command has, and
// file reading with the CLI's error style.
#pragma once
#include <CLI/CLI.hpp>
#include <string>

#include "core/format.h"

namespace peft::cli {

struct CommonOptions {
  int threads = 0;  // 0 = all cores
  bool quiet = false;
};

void add_common_options(CLI::App& app, CommonOptions& o);
void apply_common_options(const CommonOptions& o);
// Seconds as "1m23s" / "45s" (the library's, re-exported for the commands).
using peft::format_duration;

}  // namespace peft::cli
