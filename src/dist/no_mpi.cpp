// The build without MPI (PEFT_MPI=OFF or no MPI found): world.cpp never asks
// for MPI unless a launcher started the process, and then refuses.
#include "core/error.h"
#include "dist/mpi_backend.h"

namespace peft {

bool mpi_built() { return false; }

namespace detail {

std::unique_ptr<Communicator> make_mpi_communicator(int*, char***) {
  fail("dist", "this peft was built without MPI (PEFT_MPI=OFF or MPI not found)");
}

void finalize_mpi() {}

}  // namespace detail
}  // namespace peft
