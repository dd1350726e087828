// peft: the command-line front end. Parsing and printing only; the work is in libpeft.
#include <unistd.h>

#include <cstdio>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <map>
#include <memory>

#include "command.h"
#include "core/error.h"
#include "dist/communicator.h"

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

// libgomp's default spin-wait makes both threads burn their time slices
// whenever another process wants a core: measured on stories260K, 2 threads,
// one busy process beside it, 12.1k tokens/s by default against 15.3k with a
// spin count of 3000, while an idle machine gives the same speed with both
// (35k). libgomp reads its settings before main() runs, so the only way to
// change the default is to set it and start again; a user's own
// OMP_WAIT_POLICY or GOMP_SPINCOUNT is left alone.
static void use_short_spin_wait(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") || std::getenv("GOMP_SPINCOUNT")) return;
  setenv("GOMP_SPINCOUNT", "3000", 1);
  execv("/proc/self/exe", argv);  // returns only on failure: then run as we are
}

// The command itself; main() wraps it in the job's communicator.
static int run_command(int argc, char** argv) {
  using namespace peft::cli;
  CLI::App app{"peft.cpp: fine-tune Llama-family language models (Llama, Mistral, Qwen 2 and 3)\n"
               "with LoRA, LoRA-FA, VeRA, Delta-LoRA, LoRA+ or full fine-tuning, on the CPU. Models: a GGUF file\n"
               "or a Hugging Face directory. Run 'peft COMMAND --help' for a command's inputs and defaults."};
  app.require_subcommand(1);
  app.set_version_flag("--version", "peft.cpp 0.1.0");
  std::map<CLI::App*, std::function<int()>> runners;
  for (auto& [name, cmd] : registry()) {
    CLI::App* sub = app.add_subcommand(name, cmd.help);
    // Every option's default shows in --help as [value]; an option whose
    // default depends on other choices clears it and says so in its text.
    sub->option_defaults()->always_capture_default();
    runners[sub] = cmd.setup(*sub);
  }
  if (argc > 1 && argv[1][0] != '-' && !registry().count(argv[1])) {
    std::fprintf(stderr, "error: [cli] unknown command '%s' (see peft --help)\n", argv[1]);
    return 2;
  }
  // The area of a flag error is the command it was given to.
  const std::string area = argc > 1 && registry().count(argv[1]) ? argv[1] : "cli";
  const std::string see = area == "cli" ? "peft --help" : "peft " + area + " --help";
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "error: [%s] %s (see %s)\n", area.c_str(), e.what(), see.c_str());
    return 2;
  }
  try {
    for (auto& [sub, run] : runners) {
      if (!sub->parsed()) continue;
      int rc = run();
      // Results go to stdout: a full disk or a closed pipe there is an error
      // too, not a silent truncation.
      errno = 0;
      const bool flushed = std::fflush(stdout) == 0;
      const int err = errno;
      if (!flushed || std::ferror(stdout)) {
        std::fprintf(stderr, "error: [io] cannot write the output: %s\n", err ? std::strerror(err) : "write failed");
        return 2;
      }
      return rc;
    }
  } catch (const peft::InputError& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  } catch (const std::filesystem::filesystem_error& e) {
    // Creating, renaming or removing files the user named: a permission, a
    // full disk, a path that is a file.
    std::fprintf(stderr, "error: [io] %s\n", e.what());
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

// Under mpirun or srun every rank runs the same command (data-parallel
// training and embedding, src/dist); a plain run never touches MPI. A rank
// whose command fails has printed why; MPI_Abort then ends the other ranks,
// which would otherwise wait for it forever in their next collective.
int main(int argc, char** argv) {
  use_short_spin_wait(argv);
  try {
    peft::init_world(&argc, &argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  }
  const int rc = run_command(argc, argv);
  peft::Communicator& comm = peft::world();
  if (rc != 0 && comm.size() > 1) {
    std::fflush(stdout);
    std::fflush(stderr);
    comm.abort(rc);
  }
  peft::finalize_world();
  return rc;
}
