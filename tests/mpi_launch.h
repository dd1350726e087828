// `mpirun -np N peft ...` for the data-parallel tests (test_dist_train,
// test_dist_embed): one thread per rank, ranks oversubscribing the cores
// (CI has 2), and robust in a container run as root (CI's fresh Debian).
#pragma once
#include <cstdlib>
#include <string>
#include <vector>

#include "test_util.h"

namespace peft::test {

// `env`: NAME=VALUE pairs passed to every rank (mpirun -x).
inline CliResult run_mpi(int np, const std::vector<std::string>& args, const std::vector<std::string>& env = {}) {
  // Open MPI refuses to run as root without both variables (and the flag),
  // and its shared-memory transport's single-copy mode (CMA) needs ptrace
  // rights that containers often lack.
  setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
  setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
  setenv("OMPI_MCA_btl_vader_single_copy_mechanism", "none", 1);
  // Under `make test-asan` the ranks unwind every allocation fully and keep
  // Open MPI's components loaded: Debian's Open MPI has no frame pointers,
  // and tests/sanitizers/lsan_mpi.supp recognises its own leaks only by
  // whole stacks. (This process parsed its options already; mpirun's ranks
  // inherit the environment.)
  if (const char* asan = std::getenv("ASAN_OPTIONS")) {
    const std::string opts = asan;
    if (opts.find("fast_unwind_on_malloc") == std::string::npos)
      setenv("ASAN_OPTIONS", (opts + ":fast_unwind_on_malloc=0").c_str(), 1);
    setenv("OMPI_MCA_mca_base_component_disable_dlclose", "1", 1);
  }
  const char* bin = std::getenv("PEFT_BIN");
  std::vector<std::string> a{"-np", std::to_string(np), "--oversubscribe", "--allow-run-as-root", "-x", "OMP_NUM_THREADS=1"};
  for (const std::string& e : env) {
    a.push_back("-x");
    a.push_back(e);
  }
  a.push_back(bin && *bin ? bin : std::string(PEFT_BINARY_DIR) + "/bin/peft");
  a.insert(a.end(), args.begin(), args.end());
  return run_program(PEFT_MPIEXEC, a);
}

// The same command as one process with one thread (OMP_NUM_THREADS, which
// --threads 0 honours), the reference the ranks are compared with.
inline CliResult run_single(const std::vector<std::string>& args) {
  setenv("OMP_NUM_THREADS", "1", 1);
  return run_cli(args);
}

}  // namespace peft::test
