// Query path of a real index (peft index build), as `peft search` runs it:
// for each query, the time to embed it with the index's model and the time
// of the lookup, in every mode, one query at a time; and recall@10 of the
// HNSW vector ranking against the exact scan of the same index.
//
//   index_bench --index DIR --queries queries.jsonl [--n 1000] [--out FILE.json]
//
// Prints one Markdown table (p50 / p95 / p99 in ms) and writes JSON with --out.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "core/error.h"
#include "data/beir.h"
#include "search/searcher.h"

using namespace peft;
using Clock = std::chrono::steady_clock;

namespace {

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

double pct(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, size_t(p * double(v.size())))];
}

int run(int argc, char** argv) {
  std::string dir, queries_path, out;
  int64_t n = 1000;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) fail("bench", a + " needs a value");
    std::string v = argv[++i];
    if (a == "--index") dir = v;
    else if (a == "--queries") queries_path = v;
    else if (a == "--n") n = std::stoll(v);
    else if (a == "--out") out = v;
    else fail("bench", "unknown flag " + a);
  }
  if (dir.empty() || queries_path.empty()) fail("bench", "--index and --queries are required");
  auto t0 = Clock::now();
  auto s = Searcher::open(dir, SearchIndex::Access::kRead);
  const double open_ms = ms_since(t0);
  const BeirDocs q = read_beir_queries(queries_path);
  n = std::min<int64_t>(n, q.size());

  std::vector<double> embed_ms;
  std::map<std::string, std::vector<double>> lookup_ms;
  int64_t found = 0;
  for (int64_t i = 0; i < n; ++i) {
    auto t = Clock::now();
    const std::vector<float> v = s->embed_queries({q.texts[size_t(i)]});
    embed_ms.push_back(ms_since(t));
    std::set<std::string> exact_ids;
    for (const char* mode : {"vector-exact", "vector", "bm25", "hybrid"}) {
      SearchRequest r;
      r.mode = parse_search_mode(std::string(mode) == "vector-exact" ? "vector" : mode);
      r.exact = std::string(mode) == "vector-exact";
      r.k = 10;
      r.text = q.texts[size_t(i)];
      if (r.mode != SearchMode::kBm25) r.vector = v;
      t = Clock::now();
      const auto hits = s->index().search(r);
      lookup_ms[mode].push_back(ms_since(t));
      if (r.exact)
        for (const auto& h : hits) exact_ids.insert(h.id);
      else if (r.mode == SearchMode::kVector)
        for (const auto& h : hits) found += int64_t(exact_ids.count(h.id));
    }
  }
  const double recall = double(found) / double(10 * n);
  nlohmann::json j = {{"index", dir},       {"documents", s->index().count()}, {"queries", n},
                      {"open_ms", open_ms}, {"recall10_hnsw_vs_exact", recall}, {"default_ef", s->index().info().default_ef}};
  std::printf("index %s: %lld documents, %lld queries, opened (model + graph) in %.0f ms\n\n", dir.c_str(),
              (long long)s->index().count(), (long long)n, open_ms);
  std::printf("| step | p50 ms | p95 ms | p99 ms |\n|---|---|---|---|\n");
  auto row = [&](const std::string& name, const std::vector<double>& v) {
    std::printf("| %s | %.3f | %.3f | %.3f |\n", name.c_str(), pct(v, 0.5), pct(v, 0.95), pct(v, 0.99));
    j[name] = {{"p50_ms", pct(v, 0.5)}, {"p95_ms", pct(v, 0.95)}, {"p99_ms", pct(v, 0.99)}};
  };
  row("embed query", embed_ms);
  for (const char* mode : {"vector", "vector-exact", "bm25", "hybrid"}) row(std::string("lookup ") + mode, lookup_ms[mode]);
  // The index's default breadth (-1: it scans; search/ef_calibration.h).
  std::printf("\nrecall@10 at the default breadth (%lld) against the exact scan: %.4f\n",
              (long long)s->index().info().default_ef, recall);
  if (!out.empty()) std::ofstream(out) << j.dump(2) << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const InputError& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  }
}
