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

// A folder of .txt/.md files, chunked: every chunk is a document "FILE#j"
// with its parent and chunk number as metadata, within the token budget the
// index records; --where on that metadata and on the folder's path works.
TEST(SearchCli, FolderOfFilesIsChunkedAndFiltered) {
  const std::string d = peft::test::temp_dir("search-cli");
  fs::create_directories(d + "/docs/sub");
  std::ifstream in(peft::test::shared_path("data/manpages-ir/corpus.jsonl"));
  std::string line, long_text;
  for (int i = 0; i < 3 && std::getline(in, line); ++i) long_text += nlohmann::json::parse(line)["text"].get<std::string>() + "\n";
  peft::test::write_file(d + "/docs/long.txt", long_text);
  peft::test::write_file(d + "/docs/sub/short.md", "# Mounting disks\nmount attaches a filesystem.\n");
  peft::test::write_file(d + "/docs/ignored.json", "{}");
  const std::string idx = d + "/idx";
  auto r = run_cli({"index", "build", "--model", model(), "--corpus", d + "/docs", "--out", idx, "--chunk-tokens", "48",
                    "--chunk-overlap", "8"});
  ASSERT_EQ(r.rc, 0) << r.err;
  auto i = info(idx);
  EXPECT_EQ(i["manifest"]["chunk_tokens"], 48);
  EXPECT_EQ(i["manifest"]["chunk_overlap"], 8);
  const int64_t n = i["documents"];
  EXPECT_GT(n, 4);  // the long file is several chunks, the short one is whole
  // Every chunk of long.txt, in order, found through its metadata.
  r = run_cli({"search", "--index", idx, "--query", "file", "--mode", "vector", "--exact", "-k", "1000", "--where",
               "parent=long.txt", "--json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  std::set<std::string> chunks;
  const auto found = nlohmann::json::parse(r.out);
  for (const auto& h : found["results"]) chunks.insert(h["id"].get<std::string>());
  EXPECT_EQ(int64_t(chunks.size()), n - 1);
  for (int64_t j = 0; j < n - 1; ++j) EXPECT_TRUE(chunks.count("long.txt#" + std::to_string(j))) << j;
  // The .md file is one document titled by its heading, found by BM25.
  r = run_cli({"search", "--index", idx, "--query", "mount filesystem", "--mode", "bm25", "--where", "path=sub/short.md",
               "--json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["results"].size(), 1u) << r.out;
  EXPECT_EQ(j["results"][0]["id"], "sub/short.md");
  EXPECT_EQ(j["results"][0]["title"], "Mounting disks");
}

// Done-when of the search issue: on the whole manpages-ir corpus, the HNSW
// top 10 at the index's default settings holds at least 95% of the exact
// top 10 (stories260K as the embedder, the corpus's own queries).
TEST(SearchCli, HnswRecallAgainstExactOnManpagesIr) {
  const std::string d = peft::test::temp_dir("search-cli"), idx = d + "/idx";
  auto r = run_cli({"index", "build", "--model", model(), "--corpus", peft::test::shared_path("data/manpages-ir/corpus.jsonl"),
                    "--out", idx, "--max-tokens", "64", "--quiet"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(info(idx)["documents"], 1100);
  std::ifstream in(peft::test::shared_path("data/manpages-ir/queries.jsonl"));
  std::string queries, line;
  for (int i = 0; i < 400 && std::getline(in, line); ++i) queries += line + "\n";
  peft::test::write_file(d + "/q.jsonl", queries);
  auto top = [&](const std::vector<std::string>& extra) {
    std::vector<std::string> args = {"search", "--index", idx, "--queries", d + "/q.jsonl", "-k", "10", "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto res = run_cli(args);
    EXPECT_EQ(res.rc, 0) << res.err;
    std::vector<std::set<std::string>> out;
    std::istringstream s(res.out);
    for (std::string l; std::getline(s, l);) {
      std::set<std::string> ids;
      const auto j = nlohmann::json::parse(l);
      for (const auto& h : j["results"]) ids.insert(h["id"].get<std::string>());
      EXPECT_EQ(ids.size(), 10u);
      out.push_back(ids);
    }
    return out;
  };
  const auto exact = top({"--exact"});
  ASSERT_EQ(exact.size(), 400u);
  auto recall = [&](const std::vector<std::set<std::string>>& approx) {
    EXPECT_EQ(approx.size(), 400u);
    int64_t found = 0;
    for (size_t q = 0; q < approx.size() && q < exact.size(); ++q)
      for (const auto& id : exact[q]) found += approx[q].count(id);
    return double(found) / 4000.0;
  };
  // The default settings (the breadth the index measured for itself, which
  // on a corpus this small may be the scan), and the graph alone at ef 64.
  const auto i = info(idx);
  EXPECT_EQ(i["manifest"]["hnsw"]["ef_search"], 0);
  EXPECT_GE(recall(top({})), 0.95) << "default breadth " << i["default_ef"];
  EXPECT_GE(recall(top({"--ef", "64"})), 0.95);

  // `peft eval retrieval --index --exact` ranks as the model evaluation
  // does without an index (embed/model_eval.h): the same metrics (this toy
  // model ranks poorly, so they are small; they agree to the last digits).
  const std::string data = peft::test::shared_path("data/manpages-ir");
  auto ev = run_cli({"eval", "retrieval", "--index", idx, "--exact", "--queries", data + "/queries.jsonl", "--qrels",
                     data + "/qrels.tsv", "--json"});
  ASSERT_EQ(ev.rc, 0) << ev.err;
  auto direct = run_cli({"eval", "retrieval", "--model", model(), "--corpus", data + "/corpus.jsonl", "--queries",
                         data + "/queries.jsonl", "--qrels", data + "/qrels.tsv", "--max-length", "64", "--json",
                         "--quiet"});
  ASSERT_EQ(direct.rc, 0) << direct.err;
  auto last = [](const std::string& out) {
    return nlohmann::json::parse(out.substr(out.rfind('{', out.rfind("\"queries\""))));
  };
  const auto a = last(ev.out), b = last(direct.out);
  EXPECT_EQ(a["queries"], b["queries"]);
  for (const char* k : {"ndcg@10", "mrr@10", "recall@1", "recall@10", "recall@100", "map@100"})
    EXPECT_NEAR(a[k].get<double>(), b[k].get<double>(), 1e-6) << k << "\n" << ev.out << "\n" << direct.out;
}

// Copies of a positive under other ids (same text; and the same text with
// one word more) are never mined as its negatives; --max-score caps the
// negatives' cosine; the cosines written are the index's exact ones.
TEST(SearchCli, MineNegativesSkipsNearDuplicatesAndHighScores) {
  const std::string d = peft::test::temp_dir("search-cli");
  const std::string corpus = corpus_slice(d, 300, 40, "a.jsonl"), idx = d + "/idx";
  std::string body = peft::test::read_file(corpus), queries, qrels = "query-id\tcorpus-id\tscore\n";
  std::istringstream lines(body);
  int n = 0;
  for (std::string line; std::getline(lines, line) && n < 10; ++n) {
    auto doc = nlohmann::json::parse(line);
    const std::string id = doc["_id"];
    const std::string title = doc["title"];
    const std::string query = title.empty() ? doc["text"].get<std::string>().substr(0, 60) : title;
    queries += nlohmann::json{{"_id", "q-" + id}, {"text", query}}.dump() + "\n";
    qrels += "q-" + id + "\t" + id + "\t1\n";
    for (std::string tail : {"", " again"}) {
      auto copy = doc;
      copy["_id"] = "copy" + tail + "-" + id;
      copy["text"] = doc["text"].get<std::string>() + tail;
      body += copy.dump() + "\n";
    }
  }
  peft::test::write_file(corpus, body);
  peft::test::write_file(d + "/q.jsonl", queries);
  peft::test::write_file(d + "/qrels.tsv", qrels);
  auto r = run_cli({"index", "build", "--model", model(), "--corpus", corpus, "--out", idx, "--max-tokens", "64"});
  ASSERT_EQ(r.rc, 0) << r.err;
  for (std::string max_score : {"1", "0.5"}) {
    SCOPED_TRACE(max_score);
    r = run_cli({"mine-negatives", "--index", idx, "--queries", d + "/q.jsonl", "--qrels", d + "/qrels.tsv", "--out",
                 d + "/t.jsonl", "--per-query", "3", "--max-score", max_score, "--margin", "0"});
    ASSERT_EQ(r.rc, 0) << r.err;
    std::ifstream t(d + "/t.jsonl");
    int triplets = 0;
    for (std::string line; std::getline(t, line); ++triplets) {
      auto j = nlohmann::json::parse(line);
      const std::string pos = j["positive_id"], neg = j["negative_id"];
      EXPECT_NE(neg, "copy-" + pos) << line;
      EXPECT_NE(neg, "copy again-" + pos) << line;
      EXPECT_NE(j["negative"], j["positive"]);
      EXPECT_LE(j["negative_cos"].get<double>(), std::stod(max_score));
      EXPECT_EQ(j["positive_id"], j["query_id"].get<std::string>().substr(2));
      // The cosine is the one an exact search of the query reports.
      auto s = run_cli({"search", "--index", idx, "--query", j["anchor"], "--exact", "-k", "100", "--json"});
      ASSERT_EQ(s.rc, 0) << s.err;
      bool seen = false;
      const auto hits = nlohmann::json::parse(s.out);
      for (const auto& h : hits["results"]) {
        if (h["id"] != j["negative_id"]) continue;
        seen = true;
        EXPECT_NEAR(h["score"].get<double>(), j["negative_cos"].get<double>(), 1e-5);
      }
      EXPECT_TRUE(seen) << line;
    }
    EXPECT_GT(triplets, 0);
    if (max_score == "1") {
      EXPECT_EQ(triplets, 30) << r.out;
    }
  }
}
