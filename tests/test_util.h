// Helpers shared by the tests: where ../shared is, how to run the CLI, and a
// scratch directory per test.
#pragma once
#include <string>
#include <vector>

namespace peft::test {

// Absolute path of `rel` inside the shared data folder (PEFT_SHARED, else
// ../shared beside the checkout). Fails the test loudly (never skips) when the
// file is missing.
std::string shared_path(const std::string& rel);

struct CliResult {
  int rc = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};
// Runs the built `peft` binary (PEFT_BIN) with the given arguments.
CliResult run_cli(const std::vector<std::string>& args);
// Runs any program (an absolute path) with the given arguments; rc 127 when
// it could not be started.
CliResult run_program(const std::string& exe, const std::vector<std::string>& args);

// A fresh empty directory under the system temp folder, unique per call.
std::string temp_dir(const std::string& tag);
std::string read_file(const std::string& path);
void write_file(const std::string& path, const std::string& bytes);

}  // namespace peft::test
