// The communicator over MPI_COMM_WORLD (built when CMake finds MPI).
//
// Errors: MPI's error handler is set to return, so a failed call throws
// "[dist] ..." with MPI's own text instead of aborting without a word.
//
// A rank that dies: Open MPI's mpirun (and srun) then stops every other rank
// with SIGTERM, so the survivors never see an error from MPI; they would be
// killed in the middle of a collective, silently. So each rank installs a
// SIGTERM handler, and rank 0 says why the job stopped: which ranks on its
// host are gone (their pids, exchanged at start, no longer exist: the
// launcher reaps a dead rank before it signals the others), where the job
// stood and which checkpoint to resume from (set_stop_note). The other ranks
// wait a moment before they exit so that rank 0 does not count them as dead.
// Checkpoints are written under a temporary name and renamed, so a stop
// during a save leaves the previous checkpoint as it was.
#include <mpi.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstring>
#include <string>

#include "core/error.h"
#include "dist/mpi_backend.h"

namespace peft {

bool mpi_built() { return true; }

namespace {

// What the SIGTERM handler reads: fixed storage, filled before the handler
// is installed (the pids) or swapped atomically (the note).
constexpr int kMaxTracked = 4096;
constexpr size_t kNoteBytes = 1024;
int g_rank = 0, g_size = 1;
pid_t g_pids[kMaxTracked];
bool g_same_host[kMaxTracked];
char g_notes[2][kNoteBytes];
std::atomic<int> g_note{0};

void put(char* buf, size_t& len, size_t cap, const char* s) {
  while (*s && len + 1 < cap) buf[len++] = *s++;
}
void put_int(char* buf, size_t& len, size_t cap, long v) {
  char digits[24];
  int n = 0;
  if (v == 0) digits[n++] = '0';
  while (v > 0 && n < 23) {
    digits[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  while (n > 0 && len + 1 < cap) buf[len++] = digits[--n];
}

// A rank on this host whose process no longer exists.
bool gone(int r) { return r < kMaxTracked && g_same_host[r] && kill(g_pids[r], 0) != 0 && errno == ESRCH; }

// Async-signal-safe only: kill(2), write(2), usleep(3), _exit(2).
extern "C" void on_sigterm(int) {
  const int saved_errno = errno;
  const int tracked = std::min(g_size, kMaxTracked);
  // Rank 0 speaks; if rank 0 itself is gone, the lowest living rank on its host.
  bool speak = g_rank == 0;
  if (g_rank != 0 && gone(0)) {
    speak = true;
    for (int r = 1; r < g_rank && r < tracked; ++r)
      if (g_same_host[r] && !gone(r)) speak = false;
  }
  if (!speak) {
    usleep(500 * 1000);  // alive while the speaker looks for the dead
    _exit(128 + SIGTERM);
  }
  char buf[2048];
  size_t len = 0;
  put(buf, len, sizeof buf, "error: [dist] ");
  int dead = 0;
  for (int r = 0; r < tracked; ++r) {
    if (r == g_rank || !gone(r)) continue;
    put(buf, len, sizeof buf, dead == 0 ? "rank " : ", rank ");
    put_int(buf, len, sizeof buf, r);
    put(buf, len, sizeof buf, " (pid ");
    put_int(buf, len, sizeof buf, g_pids[r]);
    put(buf, len, sizeof buf, ")");
    ++dead;
  }
  if (dead > 0) {
    put(buf, len, sizeof buf, " stopped");
    put(buf, len, sizeof buf, "; rank ");
    put_int(buf, len, sizeof buf, g_rank);
    put(buf, len, sizeof buf, " stops too");
  } else {
    put(buf, len, sizeof buf, "rank ");
    put_int(buf, len, sizeof buf, g_rank);
    put(buf, len, sizeof buf, " was stopped by the launcher: another rank stopped (the launcher's message names it) "
                              "or the job was cancelled");
  }
  const char* note = g_notes[g_note.load()];
  if (*note) {
    put(buf, len, sizeof buf, " ");
    put(buf, len, sizeof buf, note);
  }
  put(buf, len, sizeof buf, "\n");
  ssize_t w = write(STDERR_FILENO, buf, len);
  (void)w;
  errno = saved_errno;
  _exit(1);
}

class MpiCommunicator : public Communicator {
 public:
  MpiCommunicator() {
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    track_peers();
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }

  void allreduce_sum(float* data, int64_t n) override { allreduce(data, n, MPI_FLOAT, sizeof(float)); }
  void allreduce_sum(double* data, int64_t n) override { allreduce(data, n, MPI_DOUBLE, sizeof(double)); }

  void broadcast(void* data, int64_t bytes, int root) override {
    char* p = static_cast<char*>(data);
    for (int64_t off = 0; off < bytes; off += kChunk) {
      const int n = static_cast<int>(std::min<int64_t>(kChunk, bytes - off));
      check(MPI_Bcast(p + off, n, MPI_BYTE, root, MPI_COMM_WORLD), "MPI_Bcast");
    }
  }

  std::vector<std::vector<uint8_t>> gather(const std::vector<uint8_t>& mine, int root) override {
    // Sizes first, then each rank's bytes to the root in chunks (MPI counts
    // are int, and one rank's share may pass 2 GiB).
    int64_t n = static_cast<int64_t>(mine.size());
    std::vector<int64_t> sizes(rank_ == root ? size_ : 0);
    check(MPI_Gather(&n, 1, MPI_INT64_T, sizes.data(), 1, MPI_INT64_T, root, MPI_COMM_WORLD), "MPI_Gather");
    std::vector<std::vector<uint8_t>> all;
    if (rank_ != root) {
      for (int64_t off = 0; off < n; off += kChunk)
        check(MPI_Send(mine.data() + off, static_cast<int>(std::min<int64_t>(kChunk, n - off)), MPI_BYTE, root, 7,
                       MPI_COMM_WORLD),
              "MPI_Send");
      return all;
    }
    all.resize(size_);
    for (int r = 0; r < size_; ++r) {
      if (r == root) {
        all[r] = mine;
        continue;
      }
      all[r].resize(static_cast<size_t>(sizes[r]));
      for (int64_t off = 0; off < sizes[r]; off += kChunk)
        check(MPI_Recv(all[r].data() + off, static_cast<int>(std::min<int64_t>(kChunk, sizes[r] - off)), MPI_BYTE, r,
                       7, MPI_COMM_WORLD, MPI_STATUS_IGNORE),
              "MPI_Recv");
    }
    return all;
  }

  void exchange(int partner, const void* send, void* recv, int64_t bytes) override {
    const char* s = static_cast<const char*>(send);
    char* d = static_cast<char*>(recv);
    for (int64_t off = 0; off < bytes; off += kChunk) {
      const int n = static_cast<int>(std::min<int64_t>(kChunk, bytes - off));
      check(MPI_Sendrecv(s + off, n, MPI_BYTE, partner, 9, d + off, n, MPI_BYTE, partner, 9, MPI_COMM_WORLD,
                         MPI_STATUS_IGNORE),
            "MPI_Sendrecv");
    }
  }

  void barrier() override { check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier"); }

  [[noreturn]] void abort(int code) override {
    MPI_Abort(MPI_COMM_WORLD, code);
    _exit(code);  // MPI_Abort does not return; this keeps [[noreturn]] honest
  }

  void set_stop_note(const std::string& note) override {
    const int next = 1 - g_note.load();
    const size_t n = std::min(note.size(), kNoteBytes - 1);
    std::memcpy(g_notes[next], note.data(), n);
    g_notes[next][n] = 0;
    g_note.store(next);
  }

 private:
  static constexpr int64_t kChunk = int64_t{1} << 30;  // elements or bytes per MPI call

  void check(int rc, const char* what) const {
    if (rc == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, text, &len);
    fail("dist", std::string(what) + " failed on rank " + std::to_string(rank_) + ": " + std::string(text, len));
  }

  void allreduce(void* data, int64_t n, MPI_Datatype type, size_t elem) {
    char* p = static_cast<char*>(data);
    for (int64_t off = 0; off < n; off += kChunk) {
      const int count = static_cast<int>(std::min<int64_t>(kChunk, n - off));
      check(MPI_Allreduce(MPI_IN_PLACE, p + off * elem, count, type, MPI_SUM, MPI_COMM_WORLD), "MPI_Allreduce");
    }
  }

  // Every rank's pid and whether it runs on this host, for the SIGTERM
  // handler; then the handler.
  void track_peers() {
    g_rank = rank_;
    g_size = size_;
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    std::vector<char> hosts(static_cast<size_t>(size_) * sizeof host);
    check(MPI_Allgather(host, sizeof host, MPI_CHAR, hosts.data(), sizeof host, MPI_CHAR, MPI_COMM_WORLD),
          "MPI_Allgather");
    const int pid = static_cast<int>(getpid());
    std::vector<int> pids(size_);
    check(MPI_Allgather(&pid, 1, MPI_INT, pids.data(), 1, MPI_INT, MPI_COMM_WORLD), "MPI_Allgather");
    for (int r = 0; r < std::min(size_, kMaxTracked); ++r) {
      g_pids[r] = pids[r];
      g_same_host[r] = std::strncmp(host, hosts.data() + static_cast<size_t>(r) * sizeof host, sizeof host) == 0;
    }
    struct sigaction sa {};
    sa.sa_handler = on_sigterm;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, nullptr);
  }

  int rank_ = 0, size_ = 1;
};

}  // namespace

namespace detail {

std::unique_ptr<Communicator> make_mpi_communicator(int* argc, char*** argv) {
  int provided = 0;
  if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
    fail("dist", "MPI_Init_thread failed");
  if (provided < MPI_THREAD_FUNNELED) fail("dist", "this MPI library cannot run with OpenMP threads (MPI_THREAD_FUNNELED)");
  return std::make_unique<MpiCommunicator>();
}

void finalize_mpi() {
  signal(SIGTERM, SIG_DFL);
  MPI_Finalize();
}

}  // namespace detail
}  // namespace peft
