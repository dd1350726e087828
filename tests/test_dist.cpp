// src/dist and the trainer's data-parallel glue, run as a plain process and
// under `mpirun -np 2` and `-np 3` (tests/dist.cmake): the collectives, the
// bucketed gradient sum (buckets smaller than the tensors, so pieces span
// tensor boundaries), the check that ranks hold the same state, and the rule
// that splits a global batch. Expected values are written from the ranks'
// inputs, not computed by the code under test.
#include <gtest/gtest.h>

#include <cmath>

#include "core/batch.h"
#include "dist/block_sum.h"
#include "dist/communicator.h"
#include "dist/grad_sync.h"
#include "dist/shard.h"
#include "train/data_parallel.h"

using namespace peft;

namespace {

Communicator& comm() { return world(); }

}  // namespace

TEST(Dist, AllreduceSumsEveryRanksValues) {
  const int n = comm().size(), r = comm().rank();
  std::vector<float> f = {1.0f, static_cast<float>(r), 0.5f};
  comm().allreduce_sum(f.data(), 3);
  EXPECT_EQ(f[0], static_cast<float>(n));
  EXPECT_EQ(f[1], static_cast<float>(n * (n - 1) / 2));  // 0 + 1 + ... + n−1
  EXPECT_EQ(f[2], 0.5f * n);
  double d[2] = {1e-3 * (r + 1), -2.0};
  comm().allreduce_sum(d, 2);
  EXPECT_NEAR(d[0], 1e-3 * n * (n + 1) / 2, 1e-15);
  EXPECT_EQ(d[1], -2.0 * n);
}

TEST(Dist, BroadcastCopiesRootsBytes) {
  int64_t v[3] = {comm().rank() * 10 + 7, comm().rank(), 42};
  comm().broadcast(v, sizeof v);
  EXPECT_EQ(v[0], 7);
  EXPECT_EQ(v[1], 0);
  EXPECT_EQ(v[2], 42);
}

TEST(Dist, GatherCollectsInRankOrder) {
  const int r = comm().rank();
  std::vector<uint8_t> mine(static_cast<size_t>(r + 1), static_cast<uint8_t>(r + 100));
  auto all = comm().gather(mine);
  if (r != 0) {
    EXPECT_TRUE(all.empty());
    return;
  }
  ASSERT_EQ(all.size(), static_cast<size_t>(comm().size()));
  for (int k = 0; k < comm().size(); ++k)
    EXPECT_EQ(all[k], std::vector<uint8_t>(static_cast<size_t>(k + 1), static_cast<uint8_t>(k + 100)));
}

TEST(Dist, GradientSyncSumsAcrossBucketBoundaries) {
  // Three tensors of 5, 1 and 7 numbers; buckets of 3 floats.
  const int n = comm().size(), r = comm().rank();
  std::vector<std::vector<float>> grads = {std::vector<float>(5), std::vector<float>(1), std::vector<float>(7)};
  std::vector<ParamRef<float>> params;
  for (size_t t = 0; t < grads.size(); ++t) {
    for (size_t i = 0; i < grads[t].size(); ++i) grads[t][i] = static_cast<float>((t + 1) * 100 + i + r);
    ParamRef<float> p;
    p.name = "t" + std::to_string(t);
    p.grad = grads[t].data();
    p.numel = static_cast<int64_t>(grads[t].size());
    params.push_back(p);
  }
  GradientSync sync(comm(), params, 3 * sizeof(float));
  EXPECT_EQ(sync.elements(), 13);
  EXPECT_EQ(sync.buckets(), 5);
  sync.allreduce();
  for (size_t t = 0; t < grads.size(); ++t)
    for (size_t i = 0; i < grads[t].size(); ++i)
      EXPECT_EQ(grads[t][i], static_cast<float>(n * ((t + 1) * 100 + i) + n * (n - 1) / 2)) << t << "," << i;
}

// Leaf b's gradient for the block-sum tests: numbers of mixed sign and size
// (1e-4 to 1e3), so that the order of the additions shows in the last bits.
float leaf(int64_t b, int64_t i) {
  const double x = std::sin(12.9898 * static_cast<double>(b + 1) + 78.233 * static_cast<double>(i + 1)) * 43758.5453;
  const double frac = x - std::floor(x);
  return static_cast<float>((frac - 0.5) * std::pow(10.0, static_cast<double>((b * 7 + i * 3) % 8) - 4.0));
}

// K leaves pushed by the blocks each rank owns, summed over the ranks: the
// total must be the one-process tree's, bit for bit, written out by hand.
void check_block_sum(int64_t K, const std::vector<float>& expected, double expected_loss) {
  const int n = comm().size(), r = comm().rank();
  const int64_t len = static_cast<int64_t>(expected.size());
  std::vector<float> g0(3), g1(static_cast<size_t>(len - 3));  // two tensors, read back to back
  std::vector<ParamRef<float>> params(2);
  params[0].grad = g0.data();
  params[0].numel = 3;
  params[1].grad = g1.data();
  params[1].numel = len - 3;
  BlockSum sum(params);
  GradientSync sync(comm(), params);
  sum.clear();
  for (int64_t b = K * r / n; b < K * (r + 1) / n; ++b) {
    for (int64_t i = 0; i < len; ++i) (i < 3 ? g0[static_cast<size_t>(i)] : g1[static_cast<size_t>(i - 3)]) = leaf(b, i);
    sum.push(b, 0.25 * static_cast<double>(b + 1));
  }
  const double loss = sum_over_ranks(sum, comm(), sync, K);
  EXPECT_EQ(loss, expected_loss);
  for (int64_t i = 0; i < len; ++i)
    EXPECT_EQ(i < 3 ? g0[static_cast<size_t>(i)] : g1[static_cast<size_t>(i - 3)], expected[static_cast<size_t>(i)])
        << "K " << K << ", element " << i;
}

TEST(Dist, BlockSumIsTheOneProcessTreeOnAnyRanks) {
  constexpr int64_t kLen = 64;
  auto g = [](int64_t b, int64_t i) { return leaf(b, i); };
  std::vector<float> tree8(kLen), tree7(kLen), tree6(kLen);
  int order_shows = 0;  // elements where left-to-right addition gives other bits
  for (int64_t i = 0; i < kLen; ++i) {
    tree8[i] = ((g(0, i) + g(1, i)) + (g(2, i) + g(3, i))) + ((g(4, i) + g(5, i)) + (g(6, i) + g(7, i)));
    tree7[i] = ((g(0, i) + g(1, i)) + (g(2, i) + g(3, i))) + ((g(4, i) + g(5, i)) + g(6, i));
    tree6[i] = ((g(0, i) + g(1, i)) + (g(2, i) + g(3, i))) + (g(4, i) + g(5, i));
    float seq = 0;
    for (int64_t b = 0; b < 8; ++b) seq += g(b, i);
    order_shows += seq != tree8[i];
  }
  EXPECT_GT(order_shows, 0) << "the data must tell the two orders apart";
  // Losses 0.25·(b + 1): small sums of binary fractions, exact in any order.
  check_block_sum(8, tree8, 0.25 * 36);
  check_block_sum(7, tree7, 0.25 * 28);
  check_block_sum(6, tree6, 0.25 * 21);
}

TEST(Dist, BlockSumNodesOfARange) {
  EXPECT_EQ(BlockSum::nodes_in(0, 8), 1);  // [0, 8)
  EXPECT_EQ(BlockSum::nodes_in(4, 8), 1);  // [4, 8)
  EXPECT_EQ(BlockSum::nodes_in(2, 5), 2);  // [2, 4) [4, 5)
  EXPECT_EQ(BlockSum::nodes_in(3, 7), 3);  // [3, 4) [4, 6) [6, 7)
  EXPECT_EQ(BlockSum::nodes_in(0, 7), 3);  // [0, 4) [4, 6) [6, 7)
  EXPECT_EQ(BlockSum::nodes_in(5, 5), 0);
}

TEST(Dist, VerifyInSyncFindsARankThatDiffers) {
  std::vector<ParamRef<float>> none;
  DataParallel dp(comm(), none, {});
  std::vector<float> same = {1, 2, 3};
  EXPECT_NO_THROW(dp.verify_in_sync({{same.data(), sizeof(float) * 3}}, "test tensors"));
  if (comm().size() == 1) return;
  std::vector<float> differ = {1, 2, comm().rank() == comm().size() - 1 ? 3.0000002f : 3.0f};
  // Every rank throws, not only the one that differs, so none is left waiting.
  try {
    dp.verify_in_sync({{differ.data(), sizeof(float) * 3}}, "test tensors");
    ADD_FAILURE() << "no error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("1 rank(s) hold test tensors that differ from rank 0's"), std::string::npos)
        << e.what();
  }
}

TEST(Dist, ShardRangeCoversTheRowsOnce) {
  EXPECT_EQ(shard_range(8, 0, 1), (std::pair<int64_t, int64_t>{0, 8}));
  EXPECT_EQ(shard_range(8, 0, 3), (std::pair<int64_t, int64_t>{0, 2}));
  EXPECT_EQ(shard_range(8, 1, 3), (std::pair<int64_t, int64_t>{2, 5}));
  EXPECT_EQ(shard_range(8, 2, 3), (std::pair<int64_t, int64_t>{5, 8}));
  EXPECT_EQ(shard_range(2, 2, 4), (std::pair<int64_t, int64_t>{1, 1}));  // a rank may get no rows
  EXPECT_THROW(shard_range(8, 3, 3), std::exception);
}

TEST(Dist, ShardRowsRegroupsTheGlobalRows) {
  // Two micro-batches of 3 rows of T = 2; row g holds tokens {10g, 10g+1}.
  std::vector<Batch> global(2);
  for (int b = 0; b < 2; ++b) {
    global[b].B = 3;
    global[b].T = 2;
    for (int i = 0; i < 3; ++i)
      for (int t = 0; t < 2; ++t) {
        const int g = b * 3 + i;
        global[b].tokens.push_back(10 * g + t);
        global[b].targets.push_back(t == 0 ? -1 : g);
        global[b].positions.push_back(t);
      }
  }
  // Rows 1..4 in micro-batches of at most 2: {1, 2}, {3, 4}.
  std::vector<Batch> mine = shard_rows(global, 1, 5, 2);
  ASSERT_EQ(mine.size(), 2u);
  EXPECT_EQ(mine[0].B, 2);
  EXPECT_EQ(mine[0].tokens, (std::vector<int32_t>{10, 11, 20, 21}));
  EXPECT_EQ(mine[1].tokens, (std::vector<int32_t>{30, 31, 40, 41}));
  EXPECT_EQ(mine[1].targets, (std::vector<int32_t>{-1, 3, -1, 4}));
  EXPECT_EQ(mine[1].positions, (std::vector<int32_t>{0, 1, 0, 1}));
  // Rows 3..5 with a micro-batch size of 2: {3, 4}, {5}.
  mine = shard_rows(global, 3, 6, 2);
  ASSERT_EQ(mine.size(), 2u);
  EXPECT_EQ(mine[1].B, 1);
  EXPECT_EQ(mine[1].tokens, (std::vector<int32_t>{50, 51}));
  EXPECT_TRUE(shard_rows(global, 4, 4, 2).empty());
}

// Under mpirun every rank runs the tests; the job fails if any rank fails.
int main(int argc, char** argv) {
  init_world(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  double failed = RUN_ALL_TESTS() != 0 ? 1 : 0;
  world().allreduce_sum(&failed, 1);
  finalize_world();
  return failed > 0 ? 1 : 0;
}
