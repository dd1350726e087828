// `mpirun -np N peft index build` and `peft index add` against one process:
// the ranks share each commit's embedding batches (as peft embed does),
// rank 0 alone writes the index, and the result is the single-process
// index: the same ids in the same order, bitwise the same stored vectors,
// the same search results. On stories260K as a decoder embedder, one thread
// per process, commits of 8 documents so that a build is several commits.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "mpi_launch.h"
#include "search/index.h"
#include "test_util.h"

using peft::test::run_mpi;
using peft::test::run_single;
using peft::test::shared_path;
using peft::test::temp_dir;

namespace fs = std::filesystem;

namespace {

// Documents of very different lengths (the embedder's length sort reorders
// them within a commit), with metadata.
std::string write_corpus(const std::string& path, int first, int n) {
  std::ofstream f(path);
  for (int i = first; i < first + n; ++i) {
    std::string text = "document " + std::to_string(i) + ":";
    for (int w = 0; w < (i * 7) % 13; ++w) text += " the cat sat on the mat by the door";
    f << nlohmann::json{{"_id", "d" + std::to_string(i)}, {"title", "title " + std::to_string(i % 5)}, {"text", text},
                        {"group", i % 3}}
                .dump()
      << "\n";
  }
  return path;
}

std::vector<std::string> build_args(const std::string& corpus, const std::string& out) {
  return {"index", "build", "--model", shared_path("models/stories260K.gguf"), "--corpus", corpus, "--out", out,
          "--max-tokens", "48", "--commit-every", "8", "--quiet"};
}

// Every stored document and its vector's bytes, in insertion order.
std::string dump_index(const std::string& dir) {
  auto idx = peft::SearchIndex::open(dir);
  std::string out;
  for (const auto& id : idx->ids()) {
    const auto d = idx->get(id);
    const auto v = idx->vector(id);
    out += id + "\t" + d->title + "\t" + d->text + "\t" + d->meta.dump() + "\t";
    out.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
    out += "\n";
  }
  return out;
}

std::string search(const std::string& idx, const std::vector<std::string>& extra) {
  std::vector<std::string> a{"search", "--index", idx, "--query", "the cat by the door", "-k", "10", "--json"};
  a.insert(a.end(), extra.begin(), extra.end());
  auto r = run_single(a);
  EXPECT_EQ(r.rc, 0) << r.err;
  return r.out;
}

}  // namespace

TEST(DistIndex, RanksBuildAndAddTheOneProcessIndex) {
  const std::string dir = temp_dir("dist-index");
  const std::string corpus = write_corpus(dir + "/corpus.jsonl", 0, 29);
  const std::string more = write_corpus(dir + "/more.jsonl", 25, 12);  // d25..d28 replaced, d29..d36 new
  const std::string one = dir + "/one";
  auto r1 = run_single(build_args(corpus, one));
  ASSERT_EQ(r1.rc, 0) << r1.err;
  auto a1 = run_single({"index", "add", one, "--corpus", more, "--quiet"});
  ASSERT_EQ(a1.rc, 0) << a1.err;
  const std::string ref = dump_index(one);
  ASSERT_NE(ref.find("d36\t"), std::string::npos);
  for (int np : {2, 3}) {
    const std::string many = dir + "/np" + std::to_string(np);
    auto rn = run_mpi(np, build_args(corpus, many));
    ASSERT_EQ(rn.rc, 0) << rn.err;
    // Rank 0 alone reports.
    EXPECT_EQ(rn.out.substr(0, rn.out.find(" in ")), "indexed 29 documents into " + many + " (29 new)") << rn.out;
    auto an = run_mpi(np, {"index", "add", many, "--corpus", more, "--quiet"});
    ASSERT_EQ(an.rc, 0) << an.err;
    EXPECT_EQ(an.out.substr(an.out.find(" (")), a1.out.substr(a1.out.find(" ("))) << an.out;
    EXPECT_EQ(dump_index(many), ref) << np << " ranks";
    EXPECT_EQ(search(many, {"--exact"}), search(one, {"--exact"}));
    EXPECT_EQ(search(many, {"--mode", "hybrid", "--exact"}), search(one, {"--mode", "hybrid", "--exact"}));
    EXPECT_EQ(search(many, {}), search(one, {}));
  }
  fs::remove_all(dir);
}

// An interrupted build resumed under mpirun: rank 0 tells the other ranks
// which documents the index already holds, and the result is whole.
TEST(DistIndex, ResumeUnderMpi) {
  const std::string dir = temp_dir("dist-index-resume");
  const std::string part = write_corpus(dir + "/part.jsonl", 0, 10);
  const std::string all = write_corpus(dir + "/all.jsonl", 0, 21);
  const std::string one = dir + "/one", many = dir + "/many";
  // What an interrupted build left, resumed by one process and by 2 ranks
  // (the resumed commits batch the same documents in both).
  for (const auto& d : {one, many}) ASSERT_EQ(run_single(build_args(part, d)).rc, 0);
  ASSERT_EQ(run_single(build_args(all, one)).rc, 0);
  auto r = run_mpi(2, build_args(all, many));
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("indexed 21 documents into " + many + " (11 new)"), std::string::npos) << r.out;
  EXPECT_EQ(dump_index(many), dump_index(one));
}
