// peft index / search / mine-negatives end to end with stories260K as the
// (decoder) embedder on a slice of manpages-ir: build, resume, add under
// kill -9, delete, info, every search mode, manifest refusal, bad input.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "test_util.h"

namespace fs = std::filesystem;
using peft::test::run_cli;

namespace {

std::string model() { return peft::test::shared_path("models/stories260K.gguf"); }

// The first `n` manpages-ir documents starting at `first`, texts cut to 300
// characters (the test is about the index, not long-document speed).
std::string corpus_slice(const std::string& dir, int first, int n, const std::string& name) {
  std::ifstream in(peft::test::shared_path("data/manpages-ir/corpus.jsonl"));
  std::string line, body;
  int i = 0;
  while (std::getline(in, line)) {
    if (i++ < first) continue;
    if (i > first + n) break;
    auto j = nlohmann::json::parse(line);
    j["text"] = j["text"].get<std::string>().substr(0, 300);
    j["section"] = j["_id"].get<std::string>().substr(j["_id"].get<std::string>().rfind('.') + 1);
    body += j.dump() + "\n";
  }
  const std::string path = dir + "/" + name;
  peft::test::write_file(path, body);
  return path;
}

nlohmann::json info(const std::string& idx) {
  auto r = run_cli({"index", "info", idx, "--json"});
  EXPECT_EQ(r.rc, 0) << r.err;
  return nlohmann::json::parse(r.out);
}

void expect_one_line_error(const peft::test::CliResult& r, const std::string& part) {
  EXPECT_EQ(r.rc, 2) << r.err;
  EXPECT_EQ(r.err.rfind("error: [", 0), 0u) << r.err;
  EXPECT_NE(r.err.find(part), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

}  // namespace

TEST(SearchCli, BuildSearchAddDeleteInfo) {
  const std::string d = peft::test::temp_dir("search-cli");
  const std::string corpus = corpus_slice(d, 0, 40, "a.jsonl"), idx = d + "/idx";
  auto r = run_cli({"index", "build", "--model", model(), "--corpus", corpus, "--out", idx, "--max-tokens", "64",
                    "--commit-every", "16"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("indexed 40 documents"), std::string::npos) << r.out;
  auto i = info(idx);
  EXPECT_EQ(i["documents"], 40);
  EXPECT_EQ(i["generation"], 3);  // three commits of at most 16
  EXPECT_EQ(i["manifest"]["embedder"], "decoder");
  EXPECT_EQ(i["manifest"]["dims"], 64);

  // A document's own text (as the index embeds it: "title text", or the
  // text alone) finds it first, by vector and by BM25.
  auto first = nlohmann::json::parse(peft::test::read_file(corpus).substr(0, peft::test::read_file(corpus).find('\n')));
  const std::string id = first["_id"], title = first["title"], text = first["text"];
  for (std::string mode : {"vector", "bm25", "hybrid"}) {
    r = run_cli({"search", "--index", idx, "--query", title.empty() ? text : title + " " + text, "--mode", mode,
                 "-k", "5", "--json", "--snippet", "8"});
    ASSERT_EQ(r.rc, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    ASSERT_EQ(j["results"].size(), 5u) << mode;
    EXPECT_EQ(j["results"][0]["id"], id) << mode;
  }
  // --where keeps only the section asked for.
  r = run_cli({"search", "--index", idx, "--query", "file", "--mode", "hybrid", "--where", "section=5", "--json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_FALSE(j["results"].empty());
  for (const auto& h : j["results"]) EXPECT_EQ(h["id"].get<std::string>().back(), '5') << h;

  // Add, then delete what was added: the same results as before.
  auto before = run_cli({"search", "--index", idx, "--query", "terminal login", "--mode", "hybrid", "--json", "--exact"});
  const std::string more = corpus_slice(d, 40, 20, "b.jsonl");
  r = run_cli({"index", "add", idx, "--corpus", more});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(info(idx)["documents"], 60);
  std::vector<std::string> del = {"index", "delete", idx};
  std::ifstream in(more);
  for (std::string line; std::getline(in, line);) {
    del.push_back("--id");
    del.push_back(nlohmann::json::parse(line)["_id"]);
  }
  r = run_cli(del);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("removed 20 of 20"), std::string::npos) << r.out;
  auto after = run_cli({"search", "--index", idx, "--query", "terminal login", "--mode", "hybrid", "--json", "--exact"});
  EXPECT_EQ(after.out, before.out);
  r = run_cli({"index", "info", idx});
  EXPECT_NE(r.out.find("documents:   40"), std::string::npos) << r.out;
}

// An interrupted build keeps what it committed, and a second run finishes it.
TEST(SearchCli, BuildResumesAfterKill) {
  const std::string d = peft::test::temp_dir("search-cli");
  const std::string corpus = corpus_slice(d, 100, 60, "c.jsonl"), idx = d + "/idx";
  setenv("PEFT_SEARCH_FAULT", "after-commit", 1);  // dies right after its first commit
  auto r = run_cli({"index", "build", "--model", model(), "--corpus", corpus, "--out", idx, "--max-tokens", "64",
                    "--commit-every", "16"});
  unsetenv("PEFT_SEARCH_FAULT");
  EXPECT_EQ(r.rc, 128 + SIGKILL);
  EXPECT_EQ(info(idx)["documents"], 16);
  r = run_cli({"index", "build", "--model", model(), "--corpus", corpus, "--out", idx, "--max-tokens", "64",
               "--commit-every", "16"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.err.find("16 of 60 documents already indexed"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("(44 new)"), std::string::npos) << r.out;
  EXPECT_EQ(info(idx)["documents"], 60);
  // Resuming with other settings is refused.
  r = run_cli({"index", "build", "--model", model(), "--corpus", corpus, "--out", idx, "--max-tokens", "32"});
  expect_one_line_error(r, "max_tokens");
}

// kill -9 from outside while `peft index add` runs, at several moments; and
// deterministic kills at the commit steps. Every time the index opens and
// holds the old documents or (only once committed) all the new ones.
TEST(SearchCli, KillDuringAddLeavesOldOrNewContents) {
  const std::string d = peft::test::temp_dir("search-cli");
  const std::string idx = d + "/idx";
  auto r = run_cli({"index", "build", "--model", model(), "--corpus", corpus_slice(d, 200, 20, "a.jsonl"), "--out", idx,
                    "--max-tokens", "64"});
  ASSERT_EQ(r.rc, 0) << r.err;
  const std::string more = corpus_slice(d, 220, 200, "b.jsonl");
  // The binary run_cli runs (PEFT_BIN when set, else the build's).
  const char* env_bin = std::getenv("PEFT_BIN");
  const std::string bin_path = env_bin && *env_bin ? env_bin : std::string(PEFT_BINARY_DIR) + "/bin/peft";
  const char* bin = bin_path.c_str();
  int killed_before_commit = 0;
  for (int delay_ms : {50, 150, 300, 600, 1000}) {
    pid_t pid = fork();
    if (pid == 0) {
      freopen("/dev/null", "w", stdout);
      freopen("/dev/null", "w", stderr);
      execl(bin, bin, "index", "add", idx.c_str(), "--corpus", more.c_str(), (char*)nullptr);
      _exit(127);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    const int64_t n = info(idx)["documents"];
    EXPECT_TRUE(n == 20 || n == 220) << "after " << delay_ms << " ms: " << n;
    if (n == 220) break;  // it finished: nothing more to interrupt
    killed_before_commit += WIFSIGNALED(status);
  }
  EXPECT_GT(killed_before_commit, 0);
  for (std::string point : {"graph-saved", "before-commit"}) {
    setenv("PEFT_SEARCH_FAULT", point.c_str(), 1);
    r = run_cli({"index", "add", idx, "--corpus", more});
    unsetenv("PEFT_SEARCH_FAULT");
    EXPECT_EQ(r.rc, 128 + SIGKILL) << point;
    const int64_t n = info(idx)["documents"];
    EXPECT_TRUE(n == 20 || n == 220) << point;
  }
  r = run_cli({"search", "--index", idx, "--query", "file", "--json"});
  EXPECT_EQ(r.rc, 0) << r.err;
}

TEST(SearchCli, MineNegativesSkipsPositives) {
  const std::string d = peft::test::temp_dir("search-cli");
  const std::string corpus = corpus_slice(d, 0, 80, "a.jsonl"), idx = d + "/idx";
  auto r = run_cli({"index", "build", "--model", model(), "--corpus", corpus, "--out", idx, "--max-tokens", "64"});
  ASSERT_EQ(r.rc, 0) << r.err;
  // Queries and qrels of the documents in the slice.
  std::set<std::string> ids;
  std::ifstream in(corpus);
  for (std::string line; std::getline(in, line);) ids.insert(nlohmann::json::parse(line)["_id"]);
  std::string queries, qrels = "query-id\tcorpus-id\tscore\n";
  std::ifstream qin(peft::test::shared_path("data/manpages-ir/queries.jsonl"));
  for (std::string line; std::getline(qin, line);) {
    auto q = nlohmann::json::parse(line);
    const std::string doc = q["_id"].get<std::string>().substr(2);
    if (!ids.count(doc)) continue;
    queries += line + "\n";
    qrels += q["_id"].get<std::string>() + "\t" + doc + "\t1\n";
  }
  peft::test::write_file(d + "/q.jsonl", queries);
  peft::test::write_file(d + "/qrels.tsv", qrels);
  r = run_cli({"mine-negatives", "--index", idx, "--queries", d + "/q.jsonl", "--qrels", d + "/qrels.tsv", "--out",
               d + "/t.jsonl", "--per-query", "2", "--skip-top", "1"});
  ASSERT_EQ(r.rc, 0) << r.err;
  std::ifstream t(d + "/t.jsonl");
  const int nq = int(std::count(queries.begin(), queries.end(), '\n'));
  int n = 0;
  for (std::string line; std::getline(t, line); ++n) {
    auto j = nlohmann::json::parse(line);
    ASSERT_TRUE(j.contains("anchor") && j.contains("positive") && j.contains("negative")) << line;
    EXPECT_NE(j["positive"], j["negative"]);
  }
  // Two per query, unless the positive is among the lowest-ranked few.
  EXPECT_GE(n, 2 * nq - 4) << nq;
  EXPECT_LE(n, 2 * nq);
  EXPECT_NE(r.out.find("triplets"), std::string::npos);
}

TEST(SearchCli, ManifestMismatchAndBadInputAreOneLineErrors) {
  const std::string d = peft::test::temp_dir("search-cli");
  const std::string corpus = corpus_slice(d, 0, 10, "a.jsonl"), idx = d + "/idx";
  auto r = run_cli({"index", "build", "--model", model(), "--corpus", corpus, "--out", idx, "--max-tokens", "64"});
  ASSERT_EQ(r.rc, 0) << r.err;
  // Another model (here: the same file with one byte changed) is refused
  // before anything is embedded with it.
  std::string bytes = peft::test::read_file(model());
  bytes[bytes.size() - 1] ^= 1;
  peft::test::write_file(d + "/other.gguf", bytes);
  expect_one_line_error(run_cli({"search", "--index", idx, "--query", "x", "--model", d + "/other.gguf"}),
                        "[search] " + idx + ": the index was built with model");
  // The same model under another path is fine.
  fs::copy_file(model(), d + "/same.gguf");
  EXPECT_EQ(run_cli({"search", "--index", idx, "--query", "x", "--model", d + "/same.gguf"}).rc, 0);
  expect_one_line_error(run_cli({"search", "--index", idx, "--query", "x", "--mode", "fuzzy"}), "unknown search mode");
  expect_one_line_error(run_cli({"search", "--index", idx, "--query", "x", "--where", "novalue"}), "KEY=VALUE");
  expect_one_line_error(run_cli({"search", "--index", d + "/nothing", "--query", "x"}), "no such index folder");
  expect_one_line_error(run_cli({"search", "--index", d, "--query", "x", "--mode", "bm25"}), "no manifest.json");
  expect_one_line_error(run_cli({"search", "--index", idx}), "--query");
  expect_one_line_error(run_cli({"index", "info", d + "/nothing"}), "no such index folder");
  expect_one_line_error(run_cli({"index", "add", idx, "--corpus", d + "/missing.jsonl"}), "no such corpus");
  peft::test::write_file(d + "/bad.jsonl", "{\"_id\": \"x\"}\n");
  expect_one_line_error(run_cli({"index", "build", "--model", model(), "--corpus", d + "/bad.jsonl", "--out", d + "/i2"}),
                        "bad.jsonl:1: \"text\" must be a string");
  EXPECT_FALSE(fs::exists(d + "/i2"));  // refused before anything was created
  expect_one_line_error(run_cli({"index", "build", "--model", model(), "--corpus", corpus, "--out", idx + "2",
                                 "--chunk-tokens", "8", "--chunk-overlap", "8"}),
                        "--chunk-overlap");
}
