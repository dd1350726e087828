// Search index benchmark: HNSW through our index (hnswlib) against FAISS's
// IndexHNSWFlat (Debian's libfaiss) on the same vectors in the same run,
// plus the whole query path (vector and hybrid) through SearchIndex.
//
//   search_bench [--n 100000] [--dims 384] [--queries 1000] [--threads 2]
//                [--data clustered|uniform] [--out FILE.json] [--skip-faiss]
//                [--vectors DOCS.npy --query-vectors QUERIES.npy]
//                [--efs 16,32,64,128,256] [--index-efs 32,64]
//
// --vectors/--query-vectors take real embeddings (`peft embed --out X.npy`
// of a corpus and of its queries) instead of synthetic ones; --n and --dims
// then come from the files (--n smaller than the file takes its first rows).
//
// Measures, for each engine: build time (all threads), the graph's memory
// (RSS growth across the build, and hnswlib's own count), and per query
// breadth ef: recall@10 against exact search, single-thread latency p50 and
// p99, and queries/s with all threads. Both use M = 16 and
// ef_construction = 100 (our defaults) and inner product on unit vectors.
// Then SearchIndex (SQLite + graph) with synthetic text on every document:
// vector and hybrid (RRF over vector and FTS5 BM25) latency at the default
// ef. Prints a Markdown table and writes JSON with --out.
#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <omp.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "io/npy.h"
#include "search/hnsw_graph.h"
#include "search/index.h"

using namespace peft;
using Clock = std::chrono::steady_clock;

namespace {

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// CPU seconds of the whole process (all threads): on a shared machine the
// fair comparison of two builds, whose wall times depend on the load.
double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

int64_t rss_bytes() {
  std::ifstream f("/proc/self/statm");
  long pages = 0, rss = 0;
  f >> pages >> rss;
  return int64_t(rss) * sysconf(_SC_PAGESIZE);
}

std::vector<float> make_vectors(int64_t n, int64_t d, const std::string& kind, uint32_t seed, int64_t clusters) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g;
  std::vector<float> centres;
  if (kind == "clustered") {
    centres.resize(size_t(clusters * d));
    for (auto& c : centres) c = g(rng);
    for (int64_t c = 0; c < clusters; ++c) normalize_vector(&centres[size_t(c * d)], d);
  }
  std::vector<float> x(size_t(n * d));
  const float sd = 0.6f / std::sqrt(float(d));
  for (int64_t i = 0; i < n; ++i) {
    float* v = &x[size_t(i * d)];
    if (kind == "clustered") {
      const float* c = &centres[size_t(int64_t(rng() % uint32_t(clusters)) * d)];
      for (int64_t j = 0; j < d; ++j) v[j] = c[j] + sd * g(rng);
    } else {
      for (int64_t j = 0; j < d; ++j) v[j] = g(rng);
    }
    normalize_vector(v, d);
  }
  return x;
}

struct Point {
  int64_t ef;
  double recall, p50_ms, p99_ms, qps;
};

double pct(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, size_t(p * double(v.size())))];
}

// Runs `search(query_row, ef) -> top-10 ids` over all queries: recall against
// `truth`, per-query latency on one thread, then throughput on `threads`.
template <typename F>
Point measure(F&& search, int64_t ef, const std::vector<std::vector<int64_t>>& truth, int threads) {
  const int64_t nq = int64_t(truth.size());
  std::vector<double> lat;
  int64_t hit = 0;
  for (int64_t q = 0; q < nq; ++q) {
    auto t = Clock::now();
    auto ids = search(q, ef);
    lat.push_back(since(t) * 1e3);
    std::set<int64_t> want(truth[size_t(q)].begin(), truth[size_t(q)].end());
    for (auto id : ids) hit += want.count(id);
  }
  std::atomic<int64_t> next{0};
  auto t = Clock::now();
  std::vector<std::thread> pool;
  for (int i = 0; i < threads; ++i)
    pool.emplace_back([&] {
      for (int64_t q; (q = next++) < nq;) search(q, ef);
    });
  for (auto& th : pool) th.join();
  return {ef, double(hit) / double(10 * nq), pct(lat, 0.5), pct(lat, 0.99), double(nq) / since(t)};
}

}  // namespace

int main(int argc, char** argv) {
  int64_t n = 100000, d = 384, nq = 1000;
  int threads = 2;
  std::string data = "clustered", out, vectors_path, queries_path;
  bool skip_faiss = false, n_given = false;
  std::vector<int64_t> efs = {16, 32, 64, 128, 256}, index_efs = {32, 64};
  auto parse_list = [](const std::string& v) {
    std::vector<int64_t> r;
    for (size_t p = 0; p <= v.size();) {
      size_t c = v.find(',', p);
      if (c == std::string::npos) c = v.size();
      if (c > p) r.push_back(std::stoll(v.substr(p, c - p)));
      p = c + 1;
    }
    return r;
  };
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&] { return std::string(i + 1 < argc ? argv[++i] : ""); };
    if (a == "--n") n = std::stoll(next()), n_given = true;
    else if (a == "--dims") d = std::stoll(next());
    else if (a == "--queries") nq = std::stoll(next());
    else if (a == "--threads") threads = std::stoi(next());
    else if (a == "--data") data = next();
    else if (a == "--out") out = next();
    else if (a == "--skip-faiss") skip_faiss = true;
    else if (a == "--vectors") vectors_path = next();
    else if (a == "--query-vectors") queries_path = next();
    else if (a == "--efs") efs = parse_list(next());
    else if (a == "--index-efs") index_efs = parse_list(next());
    else {
      std::fprintf(stderr, "unknown argument %s\n", a.c_str());
      return 2;
    }
  }
  omp_set_num_threads(threads);
  std::vector<float> x, qv;
  if (!vectors_path.empty() || !queries_path.empty()) {
    if (vectors_path.empty() || queries_path.empty()) {
      std::fprintf(stderr, "--vectors and --query-vectors go together\n");
      return 2;
    }
    NpyMatrix docs = read_npy_f32(vectors_path), queries = read_npy_f32(queries_path);
    if (docs.cols != queries.cols) {
      std::fprintf(stderr, "%s has %lld columns, %s %lld\n", vectors_path.c_str(), (long long)docs.cols,
                   queries_path.c_str(), (long long)queries.cols);
      return 2;
    }
    d = docs.cols;
    n = n_given ? std::min(n, docs.rows) : docs.rows;
    nq = std::min(nq, queries.rows);
    x.assign(docs.data.begin(), docs.data.begin() + n * d);
    qv.assign(queries.data.begin(), queries.data.begin() + nq * d);
    // Inner product on unit vectors, as the index stores them.
    for (int64_t i = 0; i < n; ++i) normalize_vector(&x[size_t(i * d)], d);
    for (int64_t i = 0; i < nq; ++i) normalize_vector(&qv[size_t(i * d)], d);
    data = "file:" + vectors_path;
  } else {
    const int64_t clusters = std::max<int64_t>(16, n / 500);
    // Queries come from the same distribution as the data (fresh draws).
    auto all = make_vectors(n + nq, d, data, 7, clusters);
    x.assign(all.begin(), all.begin() + n * d);
    qv.assign(all.begin() + n * d, all.end());
  }
  std::fprintf(stderr, "data: %lld %s vectors, dim %lld, %lld queries, %d threads\n", (long long)n, data.c_str(),
               (long long)d, (long long)nq, threads);

  // Exact top-10 by FAISS's flat inner-product scan (BLAS).
  std::vector<std::vector<int64_t>> truth(static_cast<size_t>(nq));
  {
    auto t = Clock::now();
    faiss::IndexFlatIP flat(d);
    flat.add(n, x.data());
    std::vector<float> D(static_cast<size_t>(nq * 10));
    std::vector<faiss::Index::idx_t> I(static_cast<size_t>(nq * 10));
    flat.search(nq, qv.data(), 10, D.data(), I.data());
    for (int64_t q = 0; q < nq; ++q) truth[size_t(q)].assign(I.begin() + q * 10, I.begin() + q * 10 + 10);
    std::fprintf(stderr, "exact ground truth: %.1fs\n", since(t));
  }
  nlohmann::json result = {{"n", n}, {"dims", d}, {"queries", nq}, {"threads", threads}, {"data", data}};

  // hnswlib through HnswGraph.
  {
    int64_t rss0 = rss_bytes();
    auto t = Clock::now();
    const double c0 = cpu_seconds();
    HnswGraph g(d, 16, 100, n);
    std::vector<uint64_t> labels(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) labels[size_t(i)] = uint64_t(i);
    g.add(x.data(), labels.data(), n, threads);
    const double build = since(t), build_cpu = cpu_seconds() - c0;
    const int64_t mem = rss_bytes() - rss0;
    std::fprintf(stderr, "hnswlib build %.1fs (%.1f CPU-s), +%.0f MB RSS (own count %.0f MB)\n", build, build_cpu,
                 mem / 1e6, g.memory_bytes() / 1e6);
    nlohmann::json e = {{"build_s", build}, {"build_cpu_s", build_cpu}, {"rss_bytes", mem}, {"graph_bytes", g.memory_bytes()}};
    for (auto ef : efs) {
      auto p = measure(
          [&](int64_t q, int64_t ef_) {
            std::vector<int64_t> ids;
            for (auto& s : g.search(&qv[size_t(q * d)], 10, ef_)) ids.push_back(int64_t(s.label));
            return ids;
          },
          ef, truth, threads);
      e["points"].push_back({{"ef", p.ef}, {"recall10", p.recall}, {"p50_ms", p.p50_ms}, {"p99_ms", p.p99_ms}, {"qps", p.qps}});
      std::fprintf(stderr, "  hnswlib ef %3lld recall %.4f p50 %.3f ms p99 %.3f ms %.0f q/s\n", (long long)ef, p.recall,
                   p.p50_ms, p.p99_ms, p.qps);
    }
    auto p = measure(
        [&](int64_t q, int64_t) {
          std::vector<int64_t> ids;
          for (auto& s : g.exact(&qv[size_t(q * d)], 10)) ids.push_back(int64_t(s.label));
          return ids;
        },
        0, truth, threads);
    e["exact_scan"] = {{"recall10", p.recall}, {"p50_ms", p.p50_ms}, {"p99_ms", p.p99_ms}, {"qps", p.qps}};
    std::fprintf(stderr, "  exact scan recall %.4f p50 %.3f ms %.0f q/s\n", p.recall, p.p50_ms, p.qps);
    result["hnswlib"] = e;
  }

  if (!skip_faiss) {
    int64_t rss0 = rss_bytes();
    auto t = Clock::now();
    const double c0 = cpu_seconds();
    faiss::IndexHNSWFlat f(int(d), 16, faiss::METRIC_INNER_PRODUCT);
    f.hnsw.efConstruction = 100;
    f.add(n, x.data());
    const double build = since(t), build_cpu = cpu_seconds() - c0;
    const int64_t mem = rss_bytes() - rss0;
    // What FAISS holds: the flat vectors, the neighbour table, per-vector
    // offsets and levels (RSS growth under-counts when freed memory is reused).
    const int64_t own = int64_t(n * d * sizeof(float) + f.hnsw.neighbors.size() * sizeof(faiss::HNSW::storage_idx_t) +
                                f.hnsw.offsets.size() * sizeof(size_t) + f.hnsw.levels.size() * sizeof(int));
    std::fprintf(stderr, "faiss build %.1fs (%.1f CPU-s), +%.0f MB RSS (own count %.0f MB)\n", build, build_cpu,
                 mem / 1e6, own / 1e6);
    nlohmann::json e = {{"build_s", build}, {"build_cpu_s", build_cpu}, {"rss_bytes", mem}, {"graph_bytes", own}};
    omp_set_num_threads(1);  // one query per call: parallelism comes from our threads
    for (auto ef : efs) {
      // FAISS 1.7.3's IndexHNSW::search ignores SearchParametersHNSW: set
      // the index-wide breadth (no search runs while it changes).
      f.hnsw.efSearch = int(ef);
      auto p = measure(
          [&](int64_t q, int64_t) {
            float D[10];
            faiss::Index::idx_t I[10];
            f.search(1, &qv[size_t(q * d)], 10, D, I);
            return std::vector<int64_t>(I, I + 10);
          },
          ef, truth, threads);
      e["points"].push_back({{"ef", p.ef}, {"recall10", p.recall}, {"p50_ms", p.p50_ms}, {"p99_ms", p.p99_ms}, {"qps", p.qps}});
      std::fprintf(stderr, "  faiss   ef %3lld recall %.4f p50 %.3f ms p99 %.3f ms %.0f q/s\n", (long long)ef, p.recall,
                   p.p50_ms, p.p99_ms, p.qps);
    }
    omp_set_num_threads(threads);
    result["faiss"] = e;
  }

  // The whole path: SearchIndex with SQLite documents and FTS5, vector and
  // hybrid, at the index's default breadth (measured: search/ef_calibration.h).
  {
    // Synthetic text: 40 words per document drawn from 5000 words with a
    // roughly Zipfian law (word w with probability ~ 1/w), so that postings
    // lists are as skewed as in real text.
    std::mt19937 rng(3);
    std::uniform_real_distribution<double> u(0, 1);
    auto word = [&] { return "w" + std::to_string(int64_t(std::pow(5000.0, u(rng)))); };
    std::vector<SearchDocument> docs(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
      auto& doc = docs[size_t(i)];
      doc.id = "d" + std::to_string(i);
      doc.title = word();
      for (int w = 0; w < 40; ++w) doc.text += word() + " ";
      doc.meta = {{"shard", i % 4}};
    }
    const std::string dir = std::filesystem::temp_directory_path() / ("peft-search-bench-" + std::to_string(getpid()));
    std::filesystem::remove_all(dir);
    Manifest m;
    m.model = "bench";
    m.model_id = "bench";
    m.embedder = "bench";
    m.pooling = "mean";
    m.dims = d;
    auto t = Clock::now();
    const double c0 = cpu_seconds();
    auto idx = SearchIndex::create(dir, m);
    idx->add(docs, x.data());
    const double build = since(t), build_cpu = cpu_seconds() - c0;
    std::error_code ec;
    int64_t disk = 0;
    for (auto& f : std::filesystem::directory_iterator(dir, ec)) disk += int64_t(f.file_size(ec));
    std::fprintf(stderr, "SearchIndex build (SQLite + FTS5 + graph + save) %.1fs (%.1f CPU-s), %.0f MB on disk\n", build,
                 build_cpu, disk / 1e6);
    // The default breadth the index measured for itself (-1 = the scan).
    const auto info = idx->info();
    nlohmann::json e = {{"build_s", build}, {"build_cpu_s", build_cpu}, {"disk_bytes", disk}, {"default_ef", info.default_ef},
                        {"calibrated_recall", info.calibrated_recall}};
    std::fprintf(stderr, "  default breadth %lld (-1 = exact scan), probes' recall %.4f\n", (long long)info.default_ef,
                 info.calibrated_recall);
    // The default breadth, then fixed ones (0 = the default).
    std::vector<int64_t> breadths{0};
    breadths.insert(breadths.end(), index_efs.begin(), index_efs.end());
    for (auto ef : breadths)
    for (auto mode : {SearchMode::kVector, SearchMode::kHybrid}) {
      auto p = measure(
          [&](int64_t q, int64_t) {
            SearchRequest r;
            r.mode = mode;
            r.k = 10;
            r.ef = ef;
            r.vector.assign(&qv[size_t(q * d)], &qv[size_t((q + 1) * d)]);
            r.text = "w" + std::to_string(20 + q % 200) + " w" + std::to_string(300 + (q * 7) % 1000);
            std::vector<int64_t> ids;
            for (auto& h : idx->search(r)) ids.push_back(std::stoll(h.id.substr(1)));
            return ids;
          },
          0, truth, threads);
      // (Recall is against the vector truth, so it means something for
      // the vector mode only.)
      const std::string key = std::string(search_mode_name(mode)) + (ef ? "_ef" + std::to_string(ef) : "");
      e[key] = {{"p50_ms", p.p50_ms}, {"p99_ms", p.p99_ms}, {"qps", p.qps}};
      if (mode == SearchMode::kVector) e[key]["recall10"] = p.recall;
      std::fprintf(stderr, "  %-12s p50 %.3f ms p99 %.3f ms %.0f q/s%s\n", key.c_str(), p.p50_ms, p.p99_ms, p.qps,
                   mode == SearchMode::kVector ? (" recall " + std::to_string(p.recall)).c_str() : "");
    }
    result["search_index"] = e;
    idx.reset();
    std::filesystem::remove_all(dir);
  }
  std::printf("%s\n", result.dump(2).c_str());
  if (!out.empty()) std::ofstream(out) << result.dump(2) << "\n";
  return 0;
}
