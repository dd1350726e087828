// `mpirun -np N peft embed` against the single-process run: the ranks share
// the batches of one process (the same rows in each batch, so the same
// padding and the same arithmetic) and rank 0 writes the rows in input
// order, so the output files are byte for byte the same. On stories260K as
// a decoder embedder, one thread per process.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "mpi_launch.h"
#include "test_util.h"

using peft::test::read_file;
using peft::test::run_mpi;
using peft::test::run_single;
using peft::test::shared_path;
using peft::test::temp_dir;

namespace fs = std::filesystem;

namespace {

// 23 texts of very different lengths (so the length sort reorders them and
// every batch is padded differently), a duplicate and an empty-ish line.
std::string write_corpus(const std::string& dir) {
  const std::string path = dir + "/corpus.txt";
  std::ofstream f(path);
  for (int i = 0; i < 23; ++i) {
    std::string line = "line " + std::to_string(i) + ":";
    for (int w = 0; w < (i * 7) % 19; ++w) line += " the cat sat on the mat";
    if (i == 11) line = "line 3:";
    f << line << "\n";
  }
  return path;
}

std::vector<std::string> embed_args(const std::string& corpus, const std::string& out) {
  std::vector<std::string> a{"embed", "--model", shared_path("models/stories260K.gguf"), "--input", corpus,
                             "--batch-size", "4"};
  if (!out.empty()) a.insert(a.end(), {"--out", out});
  return a;
}

}  // namespace

TEST(DistEmbed, RanksWriteTheOneProcessFilesBitwise) {
  const std::string dir = temp_dir("dist-embed");
  const std::string corpus = write_corpus(dir);
  for (const char* ext : {".npy", ".jsonl"}) {
    const std::string one = dir + "/one" + ext;
    auto r1 = run_single(embed_args(corpus, one));
    ASSERT_EQ(r1.rc, 0) << r1.err;
    const std::string ref = read_file(one);
    ASSERT_GT(ref.size(), 23u * 64u * 4u);  // 23 rows of 64 floats at least
    // 6 batches over 2 ranks (3 each) and over 3 ranks (2 each), and 5 ranks
    // (one without a second batch).
    for (int np : {2, 3, 5}) {
      const std::string many = dir + "/np" + std::to_string(np) + ext;
      auto rn = run_mpi(np, embed_args(corpus, many));
      ASSERT_EQ(rn.rc, 0) << rn.err;
      EXPECT_EQ(read_file(many), ref) << np << " ranks, " << ext;
      // Rank 0 alone reports.
      EXPECT_EQ(rn.out, "wrote 23 embeddings of 64 dimensions to " + many + rn.out.substr(rn.out.find(" (")))
          << rn.out;
    }
  }
  // Printed JSON (no --out): rank 0 prints it once, the same text.
  auto p1 = run_single(embed_args(corpus, ""));
  ASSERT_EQ(p1.rc, 0) << p1.err;
  auto p2 = run_mpi(2, embed_args(corpus, ""));
  ASSERT_EQ(p2.rc, 0) << p2.err;
  EXPECT_EQ(p2.out, p1.out);
  fs::remove_all(dir);
}

// More ranks than batches: the idle ranks send nothing and the result is whole.
TEST(DistEmbed, MoreRanksThanBatches) {
  const std::string dir = temp_dir("dist-embed-few");
  auto r1 = run_single({"embed", "--model", shared_path("models/stories260K.gguf"), "--text", "a short story"});
  ASSERT_EQ(r1.rc, 0) << r1.err;
  auto r3 = run_mpi(3, {"embed", "--model", shared_path("models/stories260K.gguf"), "--text", "a short story"});
  ASSERT_EQ(r3.rc, 0) << r3.err;
  EXPECT_EQ(r3.out, r1.out);
  fs::remove_all(dir);
}
