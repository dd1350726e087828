// The process's communicator, chosen once by main() (communicator.h).
#include <cstdlib>
#include <string>

#include "core/error.h"
#include "dist/communicator.h"
#include "dist/mpi_backend.h"

namespace peft {

namespace {

std::unique_ptr<Communicator>& world_slot() {
  static std::unique_ptr<Communicator> w;
  return w;
}

bool mpi_running = false;

int env_int(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return 0;
  char* end = nullptr;
  const long n = std::strtol(v, &end, 10);
  return *end == 0 && n > 0 && n < (1L << 30) ? static_cast<int>(n) : 0;
}

}  // namespace

int launcher_world_size() {
  // Open MPI's mpirun; PMI and PMIx launchers (MPICH's hydra, srun --mpi=pmi2
  // or pmix). Slurm: SLURM_STEP_NUM_TASKS, which srun sets for its job step,
  // not SLURM_NTASKS, which an sbatch script has too, where a plain `peft`
  // run must stay a single process.
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "SLURM_STEP_NUM_TASKS"})
    if (int n = env_int(v)) return n;
  return 0;
}

void init_world(int* argc, char*** argv) {
  if (world_slot()) return;
  const int n = launcher_world_size();
  if (n == 0) {
    world_slot() = make_single_communicator();
    return;
  }
  if (!mpi_built()) {
    if (n > 1)
      fail("dist", "started by a launcher as one of " + std::to_string(n) +
                       " processes, but this peft was built without MPI (PEFT_MPI=OFF or MPI not found); "
                       "rebuild with MPI, or run it without mpirun/srun");
    world_slot() = make_single_communicator();
    return;
  }
  world_slot() = detail::make_mpi_communicator(argc, argv);
  mpi_running = true;
}

void finalize_world() {
  if (!mpi_running) return;
  mpi_running = false;
  detail::finalize_mpi();
}

Communicator& world() {
  if (!world_slot()) world_slot() = make_single_communicator();
  return *world_slot();
}

}  // namespace peft
