// The single-process communicator: rank 0 of 1. A sum over one rank is the
// value itself, a broadcast from oneself changes nothing.
#include "core/error.h"
#include "dist/communicator.h"

#include <cstdlib>
#include <cstring>

namespace peft {

namespace {

class SingleCommunicator : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void allreduce_sum(float*, int64_t) override {}
  void allreduce_sum(double*, int64_t) override {}
  void broadcast(void*, int64_t, int root) override {
    if (root != 0) fail("dist", "broadcast from rank " + std::to_string(root) + " in a job of one process");
  }
  std::vector<std::vector<uint8_t>> gather(const std::vector<uint8_t>& mine, int root) override {
    if (root != 0) fail("dist", "gather to rank " + std::to_string(root) + " in a job of one process");
    return {mine};
  }
  void exchange(int partner, const void* send, void* recv, int64_t bytes) override {
    if (partner != 0) fail("dist", "exchange with rank " + std::to_string(partner) + " in a job of one process");
    if (bytes > 0 && send != recv) std::memmove(recv, send, static_cast<size_t>(bytes));
  }
  void barrier() override {}
  [[noreturn]] void abort(int code) override { std::exit(code); }
};

}  // namespace

std::unique_ptr<Communicator> make_single_communicator() { return std::make_unique<SingleCommunicator>(); }

}  // namespace peft
