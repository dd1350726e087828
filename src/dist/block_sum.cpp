#include "dist/block_sum.h"

#include <cstring>
#include <utility>

#include "core/error.h"

namespace peft {

namespace {

// Two nodes are siblings when they have the same size, the left one starts
// at a multiple of twice that size and the right one follows it.
bool siblings(const BlockSum::Node& lo, const BlockSum::Node& hi) {
  return lo.size == hi.size && lo.start % (2 * lo.size) == 0 && lo.start + lo.size == hi.start;
}

// lo ← lo + hi, element by element (each a single rounding of a + b).
void add_into(BlockSum::Node& lo, const BlockSum::Node& hi) {
  float* a = lo.grad.data();
  const float* b = hi.grad.data();
  const size_t n = lo.grad.size();
#pragma omp simd
  for (size_t i = 0; i < n; ++i) a[i] += b[i];
  lo.loss += hi.loss;
  lo.size += hi.size;
}

}  // namespace

BlockSum::BlockSum(std::vector<ParamRef<float>> params) : params_(std::move(params)) {
  for (const ParamRef<float>& p : params_) total_ += p.numel;
}

void BlockSum::clear() {
  for (Node& n : stack_) spare_.push_back(std::move(n.grad));
  stack_.clear();
}

std::vector<float> BlockSum::buffer() {
  if (spare_.empty()) return std::vector<float>(static_cast<size_t>(total_));
  std::vector<float> v = std::move(spare_.back());
  spare_.pop_back();
  v.resize(static_cast<size_t>(total_));
  return v;
}

void BlockSum::join_siblings() {
  while (stack_.size() >= 2 && siblings(stack_[stack_.size() - 2], stack_.back())) {
    add_into(stack_[stack_.size() - 2], stack_.back());
    spare_.push_back(std::move(stack_.back().grad));
    stack_.pop_back();
  }
}

void BlockSum::push(int64_t b, double loss) {
  Node n;
  n.start = b;
  n.size = 1;
  n.loss = loss;
  n.grad = buffer();
  int64_t off = 0;
  for (const ParamRef<float>& p : params_) {
    std::memcpy(n.grad.data() + off, p.grad, sizeof(float) * static_cast<size_t>(p.numel));
    off += p.numel;
  }
  push(std::move(n));
}

void BlockSum::push(Node node) {
  if (static_cast<int64_t>(node.grad.size()) != total_ || node.size <= 0)
    fail("dist", "a block sum of the wrong size arrived");
  if (!stack_.empty() && stack_.back().start + stack_.back().size != node.start)
    fail("dist", "block sums arrived out of order");
  stack_.push_back(std::move(node));
  join_siblings();
}

std::vector<BlockSum::Node> BlockSum::take() { return std::exchange(stack_, {}); }

double BlockSum::finish() {
  if (stack_.empty()) fail("dist", "no block was summed");
  // The maximal nodes, from the right: n_1 + (n_2 + (... + n_m)).
  while (stack_.size() >= 2) {
    Node hi = std::move(stack_.back());
    stack_.pop_back();
    // a + b = b + a exactly, so adding into the left node is the same sum.
    add_into(stack_.back(), hi);
    spare_.push_back(std::move(hi.grad));
  }
  write_grads(stack_[0].grad.data());
  return stack_[0].loss;
}

void BlockSum::write_grads(const float* grad) {
  int64_t off = 0;
  for (const ParamRef<float>& p : params_) {
    std::memcpy(p.grad, grad + off, sizeof(float) * static_cast<size_t>(p.numel));
    off += p.numel;
  }
}

int64_t BlockSum::nodes_in(int64_t first, int64_t last) {
  // The sizes the binary counter would hold after pushing first..last-1.
  std::vector<std::pair<int64_t, int64_t>> s;  // (start, size)
  for (int64_t b = first; b < last; ++b) {
    s.push_back({b, 1});
    while (s.size() >= 2) {
      const auto lo = s[s.size() - 2], hi = s.back();
      if (!(lo.second == hi.second && lo.first % (2 * lo.second) == 0)) break;
      s.pop_back();
      s.back().second *= 2;
    }
  }
  return static_cast<int64_t>(s.size());
}

namespace {

template <typename V>
void put(std::vector<uint8_t>& out, const V& v) {
  const auto* p = reinterpret_cast<const uint8_t*>(&v);
  out.insert(out.end(), p, p + sizeof v);
}

template <typename V>
V get(const std::vector<uint8_t>& in, size_t& at) {
  if (at + sizeof(V) > in.size()) fail("dist", "a rank sent a truncated block sum");
  V v;
  std::memcpy(&v, in.data() + at, sizeof v);
  at += sizeof v;
  return v;
}

}  // namespace

double sum_over_ranks(BlockSum& sum, Communicator& comm, GradientSync& sync, int64_t blocks) {
  const int n = comm.size();
  if (n == 1) return sum.finish();
  const bool pow2 = (n & (n - 1)) == 0 && blocks % n == 0 && ((blocks / n) & (blocks / n - 1)) == 0;
  if (pow2) {
    // Every rank holds one node of K/N blocks, and the tree above them is a
    // complete tree over the ranks: at level j, ranks r and r ^ 2^j hold
    // the two halves of one node and each adds the other's (a + b = b + a,
    // so both get the same bits). log2 N exchanges of the whole gradient,
    // in pieces of the all-reduce's bucket size.
    if (sum.nodes().size() != 1) fail("dist", "a rank holds " + std::to_string(sum.nodes().size()) + " block sums, expected 1");
    BlockSum::Node& mine = sum.total();
    std::vector<float> theirs(static_cast<size_t>(std::min<int64_t>(sync.bucket_floats(), sum.floats())));
    for (int bit = 1; bit < n; bit <<= 1) {
      const int partner = comm.rank() ^ bit;
      for (int64_t off = 0; off < sum.floats(); off += static_cast<int64_t>(theirs.size())) {
        const int64_t len = std::min<int64_t>(static_cast<int64_t>(theirs.size()), sum.floats() - off);
        comm.exchange(partner, mine.grad.data() + off, theirs.data(), static_cast<int64_t>(sizeof(float)) * len);
        float* a = mine.grad.data() + off;
#pragma omp simd
        for (int64_t i = 0; i < len; ++i) a[i] += theirs[static_cast<size_t>(i)];
      }
      double other = 0;
      comm.exchange(partner, &mine.loss, &other, sizeof other);
      mine.loss += other;
    }
    return sum.finish();
  }
  // Rank 0 joins every rank's nodes in block order (rank order).
  std::vector<uint8_t> mine;
  if (!comm.is_root()) {
    const std::vector<BlockSum::Node> nodes = sum.take();
    mine.reserve(sizeof(int64_t) + nodes.size() * (3 * sizeof(int64_t) + sizeof(float) * static_cast<size_t>(sum.floats())));
    put(mine, static_cast<int64_t>(nodes.size()));
    for (const BlockSum::Node& nd : nodes) {
      put(mine, nd.start);
      put(mine, nd.size);
      put(mine, nd.loss);
      const auto* p = reinterpret_cast<const uint8_t*>(nd.grad.data());
      mine.insert(mine.end(), p, p + sizeof(float) * nd.grad.size());
    }
  }
  std::vector<std::vector<uint8_t>> all = comm.gather(mine);
  double loss = 0;
  if (comm.is_root()) {
    for (int r = 1; r < n; ++r) {
      size_t at = 0;
      const auto count = get<int64_t>(all[static_cast<size_t>(r)], at);
      for (int64_t i = 0; i < count; ++i) {
        BlockSum::Node nd;
        nd.start = get<int64_t>(all[static_cast<size_t>(r)], at);
        nd.size = get<int64_t>(all[static_cast<size_t>(r)], at);
        nd.loss = get<double>(all[static_cast<size_t>(r)], at);
        const size_t bytes = sizeof(float) * static_cast<size_t>(sum.floats());
        if (at + bytes > all[static_cast<size_t>(r)].size()) fail("dist", "a rank sent a truncated block sum");
        nd.grad.resize(static_cast<size_t>(sum.floats()));
        std::memcpy(nd.grad.data(), all[static_cast<size_t>(r)].data() + at, bytes);
        at += bytes;
        sum.push(std::move(nd));
      }
      all[static_cast<size_t>(r)] = {};
    }
    loss = sum.finish();
    comm.broadcast(sum.total().grad.data(), static_cast<int64_t>(sizeof(float)) * sum.floats());
  } else {
    std::vector<float> total(static_cast<size_t>(sum.floats()));
    comm.broadcast(total.data(), static_cast<int64_t>(sizeof(float)) * sum.floats());
    sum.write_grads(total.data());
  }
  comm.broadcast(&loss, sizeof loss);
  return loss;
}

}  // namespace peft
