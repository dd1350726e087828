// The gradient of a global batch summed in an order that does not depend on
// the number of ranks (train/data_parallel.h, --reduce-blocks).
//
// Floating-point addition is commutative but not associative: one process
// summing the gradient of G rows in one GEMM and two ranks each summing G/2
// rows and adding the halves give results that differ in the last bits, and
// Adam turns a last-bit difference in a near-zero gradient into a step of
// about lr. So the sum is fixed instead: the G rows are cut into K blocks
// (block b = rows [⌊b·G/K⌋, ⌊(b+1)·G/K⌋), K fixed by the user, not by the
// rank count), each block's gradient g_b is computed on its own (same rows,
// same shapes, so the same bits on any rank), and the g_b are added along
// one binary tree over the block index:
//
//   node [s, s + 2^k) = node [s, s + 2^(k-1)) + node [s + 2^(k-1), s + 2^k)
//                       for s a multiple of 2^k, the leaves being the g_b;
//   the total folds the maximal nodes of [0, K) (K's binary digits, left to
//   right: [0, 2^a), [2^a, 2^a + 2^b), ...) from the right: n_1 + (n_2 + (...)).
//
// A rank owning the contiguous blocks [b0, b1) builds every node inside
// [b0, b1) as its blocks arrive (a binary counter: a stack of at most
// log2 K + 1 partial sums, so full fine-tuning holds O(log K) gradient
// copies, not K) and is left with the maximal nodes of its range. Joining
// the ranks' nodes in block order by the same rule gives every node of the
// one-process tree with the same operands, hence the same bits: each node is
// a + b of the same two numbers, and a + b = b + a exactly.
#pragma once
#include <cstdint>
#include <vector>

#include "core/adapter_slot.h"
#include "dist/communicator.h"
#include "dist/grad_sync.h"

namespace peft {

class BlockSum {
 public:
  explicit BlockSum(std::vector<ParamRef<float>> params);

  // One node of the tree: blocks [start, start + size) and their sums.
  struct Node {
    int64_t start = 0, size = 0;
    double loss = 0;
    std::vector<float> grad;  // every trainable tensor's gradient, back to back (visit order)
  };

  // Starts a step (drops what the last one left).
  void clear();
  // Block `b`'s gradient (what the trainable tensors' grad buffers hold now)
  // and loss sum become a leaf; blocks arrive in increasing, contiguous order.
  void push(int64_t b, double loss);
  // Appends a node built elsewhere (another rank's), joining siblings.
  void push(Node node);
  // The nodes held now (in block order), and the same moved out.
  const std::vector<Node>& nodes() const { return stack_; }
  std::vector<Node> take();
  // Folds the held nodes into one (the total, once every block is in):
  // its gradient goes to the grad buffers, its loss sum is returned.
  double finish();
  // Copies `grad` (floats() numbers) into the grad buffers.
  void write_grads(const float* grad);
  // The one node left by finish().
  Node& total() { return stack_.at(0); }

  int64_t floats() const { return total_; }
  // How many nodes a rank owning blocks [first, last) is left with.
  static int64_t nodes_in(int64_t first, int64_t last);

 private:
  std::vector<float> buffer();
  void join_siblings();

  std::vector<ParamRef<float>> params_;
  int64_t total_ = 0;
  std::vector<Node> stack_;
  std::vector<std::vector<float>> spare_;  // buffers of joined nodes, reused
};

// The data-parallel sum: rank r of N holds the nodes of its blocks
// [⌊r·K/N⌋, ⌊(r+1)·K/N⌋) of K (`blocks`); afterwards the grad buffers of
// every rank hold the one-process total, bit for bit, and the returned loss
// sum is the one-process one. One rank: finish(). N a power of two and
// K/N a power of two (K = 8 on 2, 4 or 8 ranks): every rank holds one node
// and the top of the tree is a complete tree over the ranks, summed by
// recursive doubling (log2 N exchanges of the gradient with rank r ^ 2^j,
// in pieces of `sync`'s bucket size). Otherwise rank 0 gathers every rank's
// nodes, joins them and broadcasts the total: 1 + (nodes held) gradient
// copies travel per rank, and N of them through rank 0.
double sum_over_ranks(BlockSum& sum, Communicator& comm, GradientSync& sync, int64_t blocks);

}  // namespace peft
