// peft: the command-line front end. Parsing and printing only; the work is in libpeft.
#include <cstdio>
#include <exception>
#include <map>
#include <memory>

#include "command.h"
#include "core/error.h"

namespace peft::cli {

static std::map<std::string, Command>& registry() {
  static std::map<std::string, Command> r;
  return r;
}

bool register_command(Command c) {
  std::string name = c.name;
  registry().emplace(name, std::move(c));
  return true;
}

}  // namespace peft::cli

int main(int argc, char** argv) {
  using namespace peft::cli;
  CLI::App app{"peft.cpp: parameter-efficient fine-tuning of language and embedding models, in C++"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "peft.cpp 0.1.0");
  std::map<CLI::App*, std::function<int()>> runners;
  for (auto& [name, cmd] : registry()) {
    CLI::App* sub = app.add_subcommand(name, cmd.help);
    runners[sub] = cmd.setup(*sub);
  }
  if (argc > 1 && argv[1][0] != '-' && !registry().count(argv[1])) {
    std::fprintf(stderr, "error: unknown command '%s' (see peft --help)\n", argv[1]);
    return 2;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "error: %s (see --help)\n", e.what());
    return 2;
  }
  try {
    for (auto& [sub, run] : runners)
      if (sub->parsed()) return run();
  } catch (const peft::InputError& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "error: out of memory\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 1;
}
