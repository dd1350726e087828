// The communicator: what data-parallel training and embedding need from the
// processes of one job (DESIGN.md "Scale-out on MPI, not our own transport").
//
// Two implementations: MPI (mpi_communicator.cpp, built when CMake finds MPI
// and PEFT_MPI is on) and the single process (rank 0 of 1, every collective
// a no-op), which is what every plain run gets. The process's communicator
// is world(); init_world() from main() picks MPI only when a launcher
// (mpirun, srun) started the process, so a plain run never touches MPI.
//
// Every collective must be called by every rank, in the same order, with the
// same sizes. A failure inside MPI throws "[dist] ..." (MPI's error handler
// is set to return, so a failed call does not abort silently).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace peft {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  bool is_root() const { return rank() == 0; }

  // data[i] = Σ over ranks of data[i], on every rank. Every rank ends with
  // the same bits (the implementations reduce in one order for all ranks).
  virtual void allreduce_sum(float* data, int64_t n) = 0;
  virtual void allreduce_sum(double* data, int64_t n) = 0;
  // Root's `bytes` bytes at `data` are copied to every other rank's `data`.
  virtual void broadcast(void* data, int64_t bytes, int root = 0) = 0;
  // Root receives every rank's bytes, in rank order; other ranks get {}.
  virtual std::vector<std::vector<uint8_t>> gather(const std::vector<uint8_t>& mine, int root = 0) = 0;
  // Sends `bytes` bytes at `send` to rank `partner` and receives as many
  // from it into `recv` (the two ranks call it with each other's rank).
  virtual void exchange(int partner, const void* send, void* recv, int64_t bytes) = 0;
  virtual void barrier() = 0;
  // Ends every rank of the job with `code` (after this rank printed why).
  [[noreturn]] virtual void abort(int code) = 0;

  // A line the root prints if the launcher stops it because another rank
  // died (where the job stood, which checkpoint to resume from). Kept ready
  // here because it is printed from a signal handler.
  virtual void set_stop_note(const std::string& note) {}
};

// The single-process communicator (rank 0 of 1).
std::unique_ptr<Communicator> make_single_communicator();

// The number of processes a launcher says it started (mpirun, srun, any
// PMI launcher), 0 when none started this process.
int launcher_world_size();

// True when this build has the MPI communicator.
bool mpi_built();

// Called once from main() before anything else: under a launcher, MPI
// (MPI_Init_thread with FUNNELED: OpenMP threads run inside each rank, only
// the main thread calls MPI); else the single process. Throws "[dist] ..."
// under a launcher of several processes when this build has no MPI (each
// copy would train alone and they would overwrite each other's output).
void init_world(int* argc, char*** argv);
// Ends MPI (a no-op for the single process). Called by main() on success.
void finalize_world();
// The process's communicator; the single process before init_world().
Communicator& world();

}  // namespace peft
