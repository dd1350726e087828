// Subcommand registry: each tools/peft/cmd_*.cpp registers itself with
// PEFT_COMMAND, so adding a command never touches main.cpp.
//
// A command returns its exit code. Errors: throw peft::InputError (the
// library's "[area] ..." errors are InputErrors) for bad input, which main
// prints as one line and maps to exit 2; CLI11 parse errors also exit 2;
// anything else is an internal fault, exit 1.
#pragma once
#include <CLI/CLI.hpp>
#include <functional>
#include <string>

namespace peft::cli {

struct Command {
  std::string name;
  std::string help;
  // Adds the command's options to `app` and returns the function that runs it
  // after parsing.
  std::function<std::function<int()>(CLI::App& app)> setup;
};

bool register_command(Command c);

#define PEFT_CONCAT2(a, b) a##b
#define PEFT_CONCAT(a, b) PEFT_CONCAT2(a, b)
#define PEFT_COMMAND(name, help, setup_fn) \
  static const bool PEFT_CONCAT(peft_cmd_registered_, __LINE__) = ::peft::cli::register_command({name, help, setup_fn})

}  // namespace peft::cli
