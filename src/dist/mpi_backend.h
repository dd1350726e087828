// What world.cpp needs from the MPI build (mpi_communicator.cpp) or its
// stand-in without MPI (no_mpi.cpp); only one of the two is compiled.
#pragma once
#include <memory>

#include "dist/communicator.h"

namespace peft::detail {

// MPI_Init_thread (FUNNELED) and the communicator over MPI_COMM_WORLD.
std::unique_ptr<Communicator> make_mpi_communicator(int* argc, char*** argv);
// MPI_Finalize when MPI was initialised.
void finalize_mpi();

}  // namespace peft::detail
