// The search index on vectors made here (no model): storage, HNSW against
// exact search, reopen, add/delete, filters, BM25 against the formula,
// reciprocal-rank fusion, atomic writes under SIGKILL, bad input.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <thread>
#include <atomic>

#include "core/error.h"
#include "search/content_id.h"
#include "search/doc_store.h"
#include "search/fusion.h"
#include "search/index.h"
#include "search_test_data.h"
#include "test_util.h"

namespace fs = std::filesystem;
using namespace peft;

namespace {

constexpr int64_t kDims = 32;

Manifest test_manifest(int64_t dims = kDims) {
  Manifest m;
  m.model = "test-model";
  m.model_id = "0123456789abcdef";
  m.embedder = "test";
  m.pooling = "mean";
  m.dims = dims;
  return m;
}

const char* kWords[] = {"kernel", "socket", "printer", "terminal", "password", "network", "memory", "signal",
                        "process", "thread", "archive", "compress", "editor", "shell", "mount", "disk"};

std::vector<SearchDocument> make_docs(int64_t n, int64_t first = 0) {
  std::vector<SearchDocument> docs;
  for (int64_t i = first; i < first + n; ++i) {
    SearchDocument d;
    d.id = "doc" + std::to_string(i);
    d.title = std::string(kWords[i % 16]) + " guide";
    d.text = std::string("about the ") + kWords[i % 16] + " and the " + kWords[(i * 7 + 3) % 16] + " number " +
             std::to_string(i);
    d.meta = {{"section", int(i % 3)}, {"lang", i % 2 ? "en" : "de"}, {"n", i}};
    docs.push_back(d);
  }
  return docs;
}

SearchRequest vec_request(const float* q, int64_t k, SearchMode mode = SearchMode::kVector) {
  SearchRequest r;
  r.mode = mode;
  r.k = k;
  r.vector.assign(q, q + kDims);
  return r;
}

// Everything a search returns, for bit-exact comparisons.
std::string dump(const std::vector<SearchHit>& hits) {
  std::string s;
  char buf[128];
  for (const auto& h : hits) {
    std::snprintf(buf, sizeof buf, " %a/%lld/%lld/%a/%a", h.score, (long long)h.vector_rank, (long long)h.bm25_rank,
                  h.vector_score, h.bm25_score);
    s += h.id + buf + "\n";
  }
  return s;
}

// All the searches the add/delete and reopen tests compare: every mode,
// with and without a filter; the vector part by exhaustive scan only when
// `exact_only`, else both by scan and by HNSW.
std::string all_results(const SearchIndex& idx, const std::vector<float>& queries, int64_t nq, bool exact_only = false) {
  std::string s;
  for (int64_t i = 0; i < nq; ++i) {
    const float* q = &queries[size_t(i * kDims)];
    for (auto mode : {SearchMode::kVector, SearchMode::kBm25, SearchMode::kHybrid}) {
      for (bool exact : {true, false}) {
        if (!exact && exact_only) continue;
        auto r = vec_request(q, 10, mode);
        r.text = std::string(kWords[i % 16]) + " " + kWords[(i + 5) % 16];
        r.exact = exact;
        s += dump(idx.search(r));
        r.where.equals = {{"lang", "en"}};
        s += dump(idx.search(r));
      }
    }
  }
  return s;
}

// Of the top-10 HNSW ids of each query in `before`, the share still found.
double hnsw_overlap(const SearchIndex& idx, const std::vector<float>& queries, int64_t nq,
                    const std::vector<std::vector<SearchHit>>& before) {
  int64_t same = 0, total = 0;
  for (int64_t i = 0; i < nq; ++i) {
    std::set<std::string> now;
    for (const auto& h : idx.search(vec_request(&queries[size_t(i * kDims)], 10))) now.insert(h.id);
    for (const auto& h : before[size_t(i)]) same += now.count(h.id), ++total;
  }
  return double(same) / double(total);
}

}  // namespace

TEST(SearchIndex, HnswMatchesExactSearchOnClusteredVectors) {
  const int64_t n = 3000;
  auto vecs = test::clustered_unit_vectors(n, kDims, 50, 0.6, 1);
  auto queries = test::clustered_unit_vectors(100, kDims, 50, 0.6, 2);
  const std::string dir = test::temp_dir("search") + "/idx";
  auto idx = SearchIndex::create(dir, test_manifest());
  idx->add(make_docs(n), vecs.data());
  EXPECT_EQ(idx->count(), n);
  int64_t hits = 0;
  for (int64_t i = 0; i < 100; ++i) {
    const float* q = &queries[size_t(i * kDims)];
    auto truth = test::brute_top_k(vecs, kDims, q, 10);
    auto exact = idx->search([&] { auto r = vec_request(q, 10); r.exact = true; return r; }());
    ASSERT_EQ(exact.size(), 10u);
    for (size_t j = 0; j < 10; ++j) EXPECT_EQ(exact[j].id, "doc" + std::to_string(truth[j])) << "query " << i;
    std::set<std::string> want;
    for (auto t : truth) want.insert("doc" + std::to_string(t));
    for (const auto& h : idx->search(vec_request(q, 10))) hits += want.count(h.id);
  }
  EXPECT_GE(double(hits) / 1000.0, 0.95);
}

TEST(SearchIndex, IdenticalResultsAfterReopen) {
  auto vecs = test::clustered_unit_vectors(500, kDims, 20, 0.5, 3);
  auto queries = test::clustered_unit_vectors(20, kDims, 20, 0.5, 4);
  const std::string dir = test::temp_dir("search") + "/idx";
  std::string before;
  {
    auto idx = SearchIndex::create(dir, test_manifest());
    idx->add(make_docs(300), vecs.data());
    idx->add(make_docs(200, 300), vecs.data() + 300 * kDims);
    before = all_results(*idx, queries, 20);
  }
  auto ro = SearchIndex::open(dir);
  EXPECT_EQ(ro->count(), 500);
  EXPECT_EQ(all_results(*ro, queries, 20), before);
  EXPECT_EQ(ro->info().generation, 2);
  auto doc = ro->get("doc7");
  ASSERT_TRUE(doc);
  EXPECT_EQ(doc->meta["n"], 7);
  EXPECT_EQ(doc->title, "signal guide");
}

// Exact, BM25 and fused results come back bit for bit. The HNSW graph keeps
// deleted vectors as routing nodes (and the added ones changed its links),
// so approximate results may shift a little until `rebuild`; they are
// checked for recall of the earlier top 10 instead.
TEST(SearchIndex, AddThenDeleteRestoresResults) {
  auto vecs = test::clustered_unit_vectors(700, kDims, 20, 0.5, 5);
  auto queries = test::clustered_unit_vectors(20, kDims, 20, 0.5, 6);
  const std::string dir = test::temp_dir("search") + "/idx";
  auto idx = SearchIndex::create(dir, test_manifest());
  idx->add(make_docs(500), vecs.data());
  const std::string before = all_results(*idx, queries, 20, true);
  std::vector<std::vector<SearchHit>> hnsw_before;
  for (int64_t i = 0; i < 20; ++i) hnsw_before.push_back(idx->search(vec_request(&queries[size_t(i * kDims)], 10)));
  idx->add(make_docs(200, 500), vecs.data() + 500 * kDims);
  EXPECT_NE(all_results(*idx, queries, 20, true), before);  // the new documents are found
  std::vector<std::string> ids;
  for (int i = 500; i < 700; ++i) ids.push_back("doc" + std::to_string(i));
  ids.push_back("not-there");
  EXPECT_EQ(idx->remove(ids), 200);
  EXPECT_EQ(idx->count(), 500);
  EXPECT_EQ(all_results(*idx, queries, 20, true), before);
  EXPECT_GE(hnsw_overlap(*idx, queries, 20, hnsw_before), 0.95);
  EXPECT_EQ(idx->info().graph_deleted, 200);
  idx->rebuild();
  EXPECT_EQ(idx->info().graph_deleted, 0);
  EXPECT_EQ(idx->info().graph_elements, 500);
  EXPECT_EQ(all_results(*idx, queries, 20, true), before);
  EXPECT_GE(hnsw_overlap(*idx, queries, 20, hnsw_before), 0.95);
  idx.reset();
  EXPECT_EQ(all_results(*SearchIndex::open(dir), queries, 20, true), before);
}

TEST(SearchIndex, AddReplacesADocumentWithTheSameId) {
  auto vecs = test::clustered_unit_vectors(11, kDims, 3, 0.5, 7);
  const std::string dir = test::temp_dir("search") + "/idx";
  auto idx = SearchIndex::create(dir, test_manifest());
  idx->add(make_docs(10), vecs.data());
  SearchDocument d;
  d.id = "doc3";
  d.title = "replaced";
  d.text = "zebra";
  idx->add({d}, vecs.data() + 10 * kDims);
  EXPECT_EQ(idx->count(), 10);
  EXPECT_EQ(idx->get("doc3")->title, "replaced");
  auto r = vec_request(vecs.data() + 10 * kDims, 1);
  EXPECT_EQ(idx->search(r)[0].id, "doc3");
  EXPECT_NEAR(idx->search(r)[0].score, 1.0, 1e-5);
  r.mode = SearchMode::kBm25;
  r.text = "zebra";
  auto b = idx->search(r);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].id, "doc3");
  r.text = "number 3";  // the old text is gone from the full-text index
  for (const auto& h : idx->search(r)) EXPECT_NE(h.id, "doc3");
}

// A chunked index stores document D as rows D#0, D#1, ... (search/corpus.h).
// Adding D again (peft index add, POST /documents) must replace all of its
// rows, also those the new, shorter text no longer reaches; deleting D
// removes them all. Other documents, and rows that only look like chunks,
// stay.
TEST(SearchIndex, ReaddingAChunkedDocumentLeavesNoStaleChunks) {
  auto vecs = test::clustered_unit_vectors(12, kDims, 3, 0.5, 8);
  const std::string dir = test::temp_dir("search") + "/idx";
  Manifest m = test_manifest();
  m.chunk_tokens = 4;
  auto idx = SearchIndex::create(dir, m);
  std::vector<SearchDocument> docs;
  for (int j = 0; j < 3; ++j)  // the long first version of "man"
    docs.push_back({"man#" + std::to_string(j), "man", "part " + std::to_string(j), {{"parent", "man"}, {"chunk", j}}});
  docs.push_back({"other", "other", "other text", nlohmann::json::object()});
  docs.push_back({"man#x", "look-alike", "not a chunk", {{"parent", "man"}}});   // tail is not a number
  docs.push_back({"man#7", "look-alike", "not a chunk", nlohmann::json::object()});  // no parent
  idx->add(docs, vecs.data());
  ASSERT_EQ(idx->count(), 6);
  // The new version is one chunk.
  idx->add({{"man#0", "man", "short", {{"parent", "man"}, {"chunk", 0}}}}, vecs.data() + 6 * kDims);
  std::set<std::string> ids;
  for (const auto& id : idx->ids()) ids.insert(id);
  EXPECT_EQ(ids, (std::set<std::string>{"man#0", "other", "man#x", "man#7"}));
  EXPECT_EQ(idx->get("man#0")->text, "short");
  // Searching finds no stale chunk by vector or by text.
  auto r = vec_request(vecs.data() + 1 * kDims, 6, SearchMode::kHybrid);
  r.text = "part";
  for (const auto& h : idx->search(r)) EXPECT_TRUE(ids.count(h.id)) << h.id;
  // Unchunked (short) again: the row "man" replaces the chunk.
  idx->add({{"man", "man", "tiny", nlohmann::json::object()}}, vecs.data() + 7 * kDims);
  EXPECT_FALSE(idx->contains("man#0"));
  EXPECT_TRUE(idx->contains("man"));
  // And chunked again: "man" goes.
  idx->add({{"man#0", "man", "a", {{"parent", "man"}, {"chunk", 0}}}, {"man#1", "man", "b", {{"parent", "man"}, {"chunk", 1}}}},
           vecs.data() + 8 * kDims);
  EXPECT_FALSE(idx->contains("man"));
  EXPECT_EQ(idx->count(), 5);
  // Deleting the document by its id removes its chunks, nothing else.
  EXPECT_EQ(idx->remove({"man"}), 2);
  ids.clear();
  for (const auto& id : idx->ids()) ids.insert(id);
  EXPECT_EQ(ids, (std::set<std::string>{"other", "man#x", "man#7"}));
  EXPECT_EQ(SearchIndex::open(dir)->count(), 3);
}

// An index without chunking treats ids with '#' as plain ids.
TEST(SearchIndex, UnchunkedIndexKeepsIdsWithHash) {
  auto vecs = test::clustered_unit_vectors(3, kDims, 1, 0.5, 9);
  auto idx = SearchIndex::create(test::temp_dir("search") + "/idx", test_manifest());
  idx->add({{"a#0", "t", "x", {{"parent", "a"}}}, {"a#1", "t", "y", {{"parent", "a"}}}}, vecs.data());
  idx->add({{"a#0", "t", "z", {{"parent", "a"}}}}, vecs.data() + 2 * kDims);
  EXPECT_EQ(idx->count(), 2);
  EXPECT_EQ(idx->remove({"a"}), 0);
}

// Searches run on their own read connections (a pool), beside each other
// and beside writes: every answer is the index before or after a write,
// never an error or a mix, and nothing waits forever.
TEST(SearchIndex, ConcurrentBm25AndHybridSearchesBesideWrites) {
  const int64_t n = 300;
  auto vecs = test::clustered_unit_vectors(n + 50, kDims, 10, 0.5, 10);
  const std::string dir = test::temp_dir("search") + "/idx";
  auto idx = SearchIndex::create(dir, test_manifest());
  idx->add(make_docs(n), vecs.data());
  // "kernel" documents: i % 16 == 0 or (i * 7 + 3) % 16 == 0 in make_docs.
  std::vector<SearchDocument> extra;
  for (int64_t i = 0; i < 50; ++i) extra.push_back({"extra" + std::to_string(i), "kernel extra", "kernel kernel", nlohmann::json::object()});
  std::atomic<bool> stop{false};
  std::atomic<int64_t> searches{0}, bad{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 6; ++t)
    readers.emplace_back([&, t] {
      while (!stop) {
        SearchRequest r = vec_request(vecs.data() + (t % 5) * kDims, 10, t % 2 ? SearchMode::kBm25 : SearchMode::kHybrid);
        r.text = "kernel";
        r.snippet_tokens = 8;
        try {
          const auto hits = idx->search(r);
          // Either state has at least 10 kernel documents.
          if (hits.size() != 10u) ++bad;
          ++searches;
        } catch (const std::exception&) {
          ++bad;
        }
      }
    });
  try {
    for (int round = 0; round < 10; ++round) {
      idx->add(extra, vecs.data() + n * kDims);
      std::vector<std::string> ids;
      for (const auto& d : extra) ids.push_back(d.id);
      EXPECT_EQ(idx->remove(ids), 50);
    }
  } catch (const std::exception& e) {
    ADD_FAILURE() << "a write failed beside the searches: " << e.what();
  }
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_GT(searches.load(), 0);
  EXPECT_EQ(idx->count(), n);
}

TEST(SearchIndex, WhereFiltersEveryMode) {
  const int64_t n = 2000;
  auto vecs = test::clustered_unit_vectors(n, kDims, 30, 0.6, 8);
  auto queries = test::clustered_unit_vectors(10, kDims, 30, 0.6, 9);
  const std::string dir = test::temp_dir("search") + "/idx";
  auto idx = SearchIndex::create(dir, test_manifest());
  auto docs = make_docs(n);
  docs[5].meta["tags"] = {{"kind", "special"}};
  idx->add(docs, vecs.data());
  for (int64_t i = 0; i < 10; ++i) {
    const float* q = &queries[size_t(i * kDims)];
    for (auto mode : {SearchMode::kVector, SearchMode::kBm25, SearchMode::kHybrid}) {
      for (auto where : std::vector<std::pair<std::string, std::string>>{{"section", "1"}, {"lang", "de"}}) {
        auto r = vec_request(q, 10, mode);
        r.text = kWords[i];
        r.where.equals = {where};
        auto hits = idx->search(r);
        EXPECT_FALSE(hits.empty());
        for (const auto& h : hits) {
          auto m = idx->get(h.id)->meta;
          EXPECT_EQ(where.first == "section" ? std::to_string(m["section"].get<int>()) : m["lang"].get<std::string>(),
                    where.second);
        }
        if (mode == SearchMode::kVector) {
          // The filtered vector search equals brute force over the kept rows.
          std::vector<float> kept;
          std::vector<int64_t> rows;
          for (int64_t j = 0; j < n; ++j) {
            bool ok = where.first == "section" ? std::to_string(j % 3) == where.second
                                               : std::string(j % 2 ? "en" : "de") == where.second;
            if (!ok) continue;
            kept.insert(kept.end(), &vecs[size_t(j * kDims)], &vecs[size_t((j + 1) * kDims)]);
            rows.push_back(j);
          }
          auto truth = test::brute_top_k(kept, kDims, q, 10);
          int64_t agree = 0;
          for (size_t j = 0; j < hits.size(); ++j) agree += hits[j].id == "doc" + std::to_string(rows[size_t(truth[j])]);
          EXPECT_GE(agree, 9) << "query " << i;
        }
      }
    }
  }
  // Nested keys, and fields that are absent or of another type.
  SearchRequest r = vec_request(queries.data(), 5);
  r.where.equals = {{"tags.kind", "special"}};
  auto hits = idx->search(r);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].id, "doc5");
  r.where.equals = {{"missing", "1"}};
  EXPECT_TRUE(idx->search(r).empty());
  r.where.equals = {{"n", "12"}, {"lang", "de"}};
  hits = idx->search(r);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].id, "doc12");
}

// FTS5's bm25() with its defaults (k1 = 1.2, b = 0.75, every column weight
// 1), written out. FTS5 scores a row as one document: f(t) counts the term
// in all its columns, |d| is the row's token count, avgdl their mean, and
//   idf(t) = ln((N - n(t) + 0.5) / (n(t) + 0.5)), or 1e-6 where that is <= 0
//   score  = sum over t of idf(t) f(t) (k1 + 1) / (f(t) + k1 (1 - b + b |d| / avgdl))
TEST(SearchIndex, Bm25MatchesTheFormula) {
  const std::vector<std::pair<std::string, std::string>> corpus = {
      {"alpha", "alpha beta gamma"}, {"beta", "beta beta delta"}, {"gamma", "gamma delta"},
      {"delta", "epsilon"},          {"omega", "omega alpha omega omega"}};
  const std::string dir = test::temp_dir("search") + "/idx";
  auto idx = SearchIndex::create(dir, test_manifest());
  std::vector<SearchDocument> docs;
  for (size_t i = 0; i < corpus.size(); ++i) docs.push_back({"d" + std::to_string(i), corpus[i].first, corpus[i].second});
  auto vecs = test::clustered_unit_vectors(int64_t(docs.size()), kDims, 2, 0.5, 10);
  idx->add(docs, vecs.data());
  auto tokens = [](const std::string& s) {
    std::vector<std::string> t;
    std::string w;
    for (char c : s + " ") {
      if (c == ' ') {
        if (!w.empty()) t.push_back(w);
        w.clear();
      } else {
        w += c;
      }
    }
    return t;
  };
  const double N = double(corpus.size());
  std::vector<std::vector<std::string>> rows;
  double avgdl = 0;
  for (const auto& [t, x] : corpus) {
    auto r = tokens(t + " " + x);
    avgdl += double(r.size()) / N;
    rows.push_back(r);
  }
  auto expected = [&](const std::vector<std::string>& q) {
    std::map<std::string, double> score;
    for (const auto& term : q) {
      double n = 0;
      for (const auto& r : rows) n += std::count(r.begin(), r.end(), term) > 0;
      if (n == 0) continue;
      double idf = std::log((N - n + 0.5) / (n + 0.5));
      if (idf <= 0) idf = 1e-6;
      for (size_t i = 0; i < rows.size(); ++i) {
        const double f = double(std::count(rows[i].begin(), rows[i].end(), term));
        if (f == 0) continue;
        score["d" + std::to_string(i)] += idf * f * 2.2 / (f + 1.2 * (0.25 + 0.75 * double(rows[i].size()) / avgdl));
      }
    }
    return score;
  };
  for (const auto& q : std::vector<std::vector<std::string>>{{"alpha"}, {"beta", "delta"}, {"omega", "epsilon"}}) {
    SearchRequest r;
    r.mode = SearchMode::kBm25;
    r.k = 10;
    for (const auto& w : q) r.text += w + " ";
    auto hits = idx->search(r);
    auto want = expected(q);
    ASSERT_EQ(hits.size(), want.size()) << r.text;
    for (const auto& h : hits) EXPECT_NEAR(h.score, want[h.id], 1e-9) << r.text << " " << h.id;
    for (size_t i = 1; i < hits.size(); ++i) EXPECT_GE(hits[i - 1].score, hits[i].score);
  }
}

TEST(SearchIndex, ReciprocalRankFusion) {
  // a: 1 2 3, b: 3 4 1. Scores 1/(60+r): 1 -> 1/61 + 1/63, 3 -> 1/63 + 1/61,
  // 2 -> 1/62, 4 -> 1/62. 1 and 3 tie on score: 1 has the better single
  // rank? both have a rank 1: then the smaller key.
  auto f = rrf_fuse({1, 2, 3}, {3, 4, 1}, 10);
  ASSERT_EQ(f.size(), 4u);
  EXPECT_EQ(f[0].key, 1);
  EXPECT_EQ(f[1].key, 3);
  EXPECT_EQ(f[2].key, 2);
  EXPECT_EQ(f[3].key, 4);
  EXPECT_DOUBLE_EQ(f[0].score, 1.0 / 61 + 1.0 / 63);
  EXPECT_DOUBLE_EQ(f[2].score, 1.0 / 62);
  EXPECT_EQ(f[0].rank_a, 1);
  EXPECT_EQ(f[0].rank_b, 3);
  EXPECT_EQ(f[3].rank_a, 0);
  EXPECT_EQ(rrf_fuse({1, 2, 3}, {}, 2).size(), 2u);
}

TEST(SearchIndex, HybridPutsDocumentsInBothListsFirst) {
  auto vecs = test::clustered_unit_vectors(200, kDims, 10, 0.5, 11);
  const std::string dir = test::temp_dir("search") + "/idx";
  auto idx = SearchIndex::create(dir, test_manifest());
  idx->add(make_docs(200), vecs.data());
  // The query vector is doc32's (vector rank 1) and the text is a word in
  // doc32's title (kernel: i % 16 == 0).
  auto r = vec_request(vecs.data() + 32 * kDims, 5, SearchMode::kHybrid);
  r.text = "kernel";
  r.snippet_tokens = 8;
  auto hits = idx->search(r);
  ASSERT_FALSE(hits.empty());
  EXPECT_EQ(hits[0].id, "doc32");
  EXPECT_EQ(hits[0].vector_rank, 1);
  EXPECT_GT(hits[0].bm25_rank, 0);
  EXPECT_NE(hits[0].snippet.find("[kernel]"), std::string::npos) << hits[0].snippet;
}

namespace {

// Runs `fn` in a child process with PEFT_SEARCH_FAULT=`point` and returns how
// it ended (the signal, or 0 for a normal exit).
int run_child_with_fault(const std::string& point, const std::function<void()>& fn) {
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    setenv("PEFT_SEARCH_FAULT", point.c_str(), 1);
    try {
      fn();
    } catch (...) {
      _exit(3);
    }
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFSIGNALED(status) ? WTERMSIG(status) : -WEXITSTATUS(status);
}

}  // namespace

TEST(SearchIndex, KillDuringAddLeavesTheOldIndex) {
  auto vecs = test::clustered_unit_vectors(400, kDims, 10, 0.5, 12);
  auto queries = test::clustered_unit_vectors(10, kDims, 10, 0.5, 13);
  for (std::string point : {"graph-saved", "before-commit", "after-commit"}) {
    SCOPED_TRACE(point);
    const std::string dir = test::temp_dir("search") + "/idx";
    std::string before;
    {
      auto idx = SearchIndex::create(dir, test_manifest());
      idx->add(make_docs(200), vecs.data());
      before = all_results(*idx, queries, 10);
    }
    int how = run_child_with_fault(point, [&] {
      auto idx = SearchIndex::open(dir, SearchIndex::Access::kWrite);
      idx->add(make_docs(200, 200), vecs.data() + 200 * kDims);
    });
    ASSERT_EQ(how, SIGKILL);
    auto idx = SearchIndex::open(dir, SearchIndex::Access::kWrite);  // valid, and a writer cleans up
    if (point == "after-commit") {
      EXPECT_EQ(idx->count(), 400);  // committed: the new contents
    } else {
      EXPECT_EQ(idx->count(), 200);
      EXPECT_EQ(all_results(*idx, queries, 10), before);
    }
    int graphs = 0;
    for (const auto& e : fs::directory_iterator(dir)) graphs += e.path().filename().string().rfind("hnsw-", 0) == 0;
    EXPECT_EQ(graphs, 1);
    // And it takes writes again.
    idx->add(make_docs(1, 1000), vecs.data());
    EXPECT_TRUE(idx->contains("doc1000"));
  }
}

TEST(SearchIndex, GraphFileIsRebuiltWhenMissingOrDamaged) {
  auto vecs = test::clustered_unit_vectors(100, kDims, 5, 0.5, 14);
  const std::string dir = test::temp_dir("search") + "/idx";
  std::string before;
  {
    auto idx = SearchIndex::create(dir, test_manifest());
    idx->add(make_docs(100), vecs.data());
    auto r = vec_request(vecs.data(), 10);
    r.exact = true;
    before = dump(idx->search(r));
  }
  const std::string g = dir + "/hnsw-1.bin";
  ASSERT_TRUE(fs::exists(g));
  fs::resize_file(g, fs::file_size(g) / 2);
  auto idx = SearchIndex::open(dir);
  auto r = vec_request(vecs.data(), 10);
  r.exact = true;
  EXPECT_EQ(dump(idx->search(r)), before);
  idx.reset();
  fs::remove(g);
  EXPECT_EQ(dump(SearchIndex::open(dir)->search(r)), before);
}

TEST(SearchIndex, BadInputIsOneLineError) {
  auto vecs = test::clustered_unit_vectors(3, kDims, 1, 0.5, 15);
  const std::string base = test::temp_dir("search");
  auto expect_error = [](const std::function<void()>& fn, const std::string& part) {
    try {
      fn();
      ADD_FAILURE() << "no error, expected: " << part;
    } catch (const InputError& e) {
      const std::string msg = e.what();
      EXPECT_EQ(msg.rfind("[search] ", 0), 0u) << msg;
      EXPECT_NE(msg.find(part), std::string::npos) << msg;
      EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    }
  };
  expect_error([&] { SearchIndex::open(base + "/nothing"); }, "no such index folder");
  expect_error([&] { SearchIndex::open(base); }, "no manifest.json");
  test::write_file(base + "/x.txt", "hi");
  expect_error([&] { SearchIndex::create(base, test_manifest()); }, "not empty");
  auto idx = SearchIndex::create(base + "/idx", test_manifest());
  expect_error([&] { SearchIndex::open(base + "/idx", SearchIndex::Access::kWrite); }, "locked");
  auto docs = make_docs(3);
  docs[2].id = docs[0].id;
  expect_error([&] { idx->add(docs, vecs.data()); }, "appears twice");
  docs = make_docs(3);
  docs[1].id = "";
  expect_error([&] { idx->add(docs, vecs.data()); }, "empty id");
  std::vector<float> zero(3 * kDims, 0.0f);
  expect_error([&] { idx->add(make_docs(3), zero.data()); }, "zero or not finite");
  EXPECT_EQ(idx->count(), 0);
  idx->add(make_docs(3), vecs.data());
  SearchRequest r;
  r.vector.assign(5, 1.0f);
  expect_error([&] { idx->search(r); }, "query vector has 5 values");
  r = vec_request(vecs.data(), 0);
  expect_error([&] { idx->search(r); }, "k must be >= 1");
  expect_error([] { parse_where("novalue"); }, "KEY=VALUE");
  expect_error([] { parse_where("a b=1"); }, "letters, digits");
  expect_error([] { parse_where("a..b=1"); }, "empty part");
  expect_error([] { parse_search_mode("fuzzy"); }, "unknown search mode");
  // A read-only index refuses writes.
  idx.reset();
  auto ro = SearchIndex::open(base + "/idx");
  expect_error([&] { ro->add(make_docs(1, 9), vecs.data()); }, "read-only");
  // A manifest that is not one.
  test::write_file(base + "/idx/manifest.json", "{\"format\": 1}");
  expect_error([&] { SearchIndex::open(base + "/idx"); }, "missing field 'model'");
  // FTS5 syntax in a query is only words.
  EXPECT_EQ(fts_query("a\"b OR (c* NEAR"), "\"a\" OR \"b\" OR \"OR\" OR \"c\" OR \"NEAR\"");
}

TEST(SearchIndex, ManifestRefusesAnotherModel) {
  Manifest a = test_manifest(), b = test_manifest();
  b.model = "elsewhere/same-model";
  EXPECT_NO_THROW(a.check_same_embedding(b, "idx"));  // a path change is fine
  b.model_id = "fedcba9876543210";
  try {
    a.check_same_embedding(b, "idx");
    ADD_FAILURE();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("built with model 'test-model'"), std::string::npos) << e.what();
  }
  b = test_manifest();
  b.query_prompt = "query: ";
  EXPECT_THROW(a.check_same_embedding(b, "idx"), InputError);
  // Round trip through JSON.
  a.adapters = {"ad:0.5"};
  a.adapter_id = "77";
  a.chunk_tokens = 128;
  EXPECT_EQ(Manifest::from_json(a.to_json(), "m").to_json(), a.to_json());
}

TEST(SearchIndex, ContentIdFollowsContentNotPath) {
  const std::string d = test::temp_dir("search");
  test::write_file(d + "/a.bin", "same bytes");
  test::write_file(d + "/b.bin", "same bytes");
  test::write_file(d + "/c.bin", "same bytez");
  EXPECT_EQ(content_id(d + "/a.bin"), content_id(d + "/b.bin"));
  EXPECT_NE(content_id(d + "/a.bin"), content_id(d + "/c.bin"));
  fs::create_directories(d + "/m1/sub");
  fs::create_directories(d + "/m2/sub");
  test::write_file(d + "/m1/sub/w", "x");
  test::write_file(d + "/m2/sub/w", "x");
  EXPECT_EQ(content_id(d + "/m1"), content_id(d + "/m2"));
  test::write_file(d + "/m2/sub/v", "");
  EXPECT_NE(content_id(d + "/m1"), content_id(d + "/m2"));
  EXPECT_THROW(content_id(d + "/none"), InputError);
}
