// peft search: query an index by vector, BM25 or both (reciprocal-rank
// fusion). Parsing and printing only; see src/search/searcher.h.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "command.h"
#include "common.h"
#include "core/error.h"
#include "data/jsonl.h"
#include "io/atomic_file.h"
#include "search/index.h"
#include "search/searcher.h"

namespace peft::cli {
namespace {

struct Query {
  std::string id, text;
};

// JSONL with "_id"/"id" and "text" (BEIR's queries.jsonl), or plain text,
// one query per line.
std::vector<Query> read_queries(const std::string& path) {
  std::vector<Query> out;
  const bool jsonl = path.size() > 6 && (path.ends_with(".jsonl") || path.ends_with(".json"));
  if (jsonl) {
    for (auto& r : read_jsonl(path)) {
      const std::string where = path + ":" + std::to_string(r.line);
      if (!r.value.contains("text") || !r.value["text"].is_string()) fail("search", where + ": \"text\" must be a string");
      Query q;
      q.text = r.value["text"].get<std::string>();
      for (const char* k : {"_id", "id"})
        if (r.value.contains(k)) q.id = r.value[k].is_string() ? r.value[k].get<std::string>() : r.value[k].dump();
      if (q.id.empty()) q.id = std::to_string(out.size());
      out.push_back(q);
    }
  } else {
    const std::string text = read_file_bytes(path);
    size_t start = 0;
    while (start < text.size()) {
      size_t end = text.find('\n', start);
      if (end == std::string::npos) end = text.size();
      std::string line = text.substr(start, end - start);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (!line.empty()) out.push_back({std::to_string(out.size()), line});
      start = end + 1;
    }
  }
  if (out.empty()) fail("search", path + ": no queries");
  return out;
}

nlohmann::json hit_json(const SearchHit& h) {
  nlohmann::json j = {{"id", h.id}, {"score", h.score}, {"title", h.title}};
  if (h.vector_rank) j["vector_rank"] = h.vector_rank, j["vector_score"] = h.vector_score;
  if (h.bm25_rank) j["bm25_rank"] = h.bm25_rank, j["bm25_score"] = h.bm25_score;
  if (!h.snippet.empty()) j["snippet"] = h.snippet;
  return j;
}

std::function<int()> setup(CLI::App& app) {
  struct Opts {
    std::string index, query, queries, mode = "vector", model, adapter;
    int64_t k = 10, ef = 0, snippet = 0;
    std::vector<std::string> where;
    bool json = false, exact = false;
    CommonOptions common;
  };
  auto o = std::make_shared<Opts>();
  app.add_option("--index", o->index, "the index folder")->required();
  auto* q = app.add_option("--query", o->query, "one query");
  auto* qs = app.add_option("--queries", o->queries, "a file of queries: JSONL (_id, text) or one per line");
  q->excludes(qs);
  app.add_option("-k", o->k, "results per query")->check(kPositive);
  app.add_option("--mode", o->mode, "vector, bm25 or hybrid (reciprocal-rank fusion, c = 60)");
  app.add_option("--where", o->where, "KEY=VALUE: only documents whose metadata field KEY is VALUE (repeat = AND)");
  app.add_option("--ef", o->ef, "HNSW search breadth (0 = the index's default, see peft index info)")->check(kNonNegative);
  app.add_flag("--exact", o->exact, "vector part by exhaustive scan instead of HNSW");
  app.add_option("--snippet", o->snippet, "show up to N words of each result around the query's words")
      ->check(kNonNegative);
  app.add_option("--model", o->model, "the model to embed queries with; must be the index's (default: the index's)");
  app.add_option("--adapter", o->adapter, "its adapter; must be the index's (default: the index's)");
  app.add_flag("--json", o->json, "one JSON object per query");
  add_common_options(app, o->common);
  return [o]() -> int {
    apply_common_options(o->common);
    if (o->query.empty() && o->queries.empty()) fail("search", "give --query TEXT or --queries FILE");
    SearchRequest req;
    req.mode = parse_search_mode(o->mode);
    req.k = o->k;
    req.ef = o->ef;
    req.exact = o->exact;
    req.snippet_tokens = o->snippet;
    for (const auto& w : o->where) req.where.equals.push_back(parse_where(w));
    std::vector<Query> queries = o->queries.empty() ? std::vector<Query>{{"0", o->query}} : read_queries(o->queries);
    // BM25 needs no model: only vector and hybrid searches load it.
    std::unique_ptr<Searcher> s;
    std::unique_ptr<SearchIndex> idx;
    if (req.mode == SearchMode::kBm25 && o->model.empty() && o->adapter.empty())
      idx = SearchIndex::open(o->index);
    else
      s = Searcher::open(o->index, SearchIndex::Access::kRead, o->model, o->adapter);
    for (const auto& query : queries) {
      std::vector<SearchHit> hits;
      if (s) {
        hits = s->search(query.text, req);
      } else {
        SearchRequest r = req;
        r.text = query.text;
        hits = idx->search(r);
      }
      if (o->json) {
        nlohmann::json j = {{"query_id", query.id}, {"query", query.text}, {"mode", o->mode}};
        j["results"] = nlohmann::json::array();
        for (const auto& h : hits) j["results"].push_back(hit_json(h));
        std::printf("%s\n", j.dump().c_str());
        continue;
      }
      if (queries.size() > 1) std::printf("query %s: %s\n", query.id.c_str(), query.text.c_str());
      if (hits.empty()) std::printf("  (no results)\n");
      for (size_t i = 0; i < hits.size(); ++i) {
        const auto& h = hits[i];
        std::printf("%3zu. %-10.4f %s%s%s\n", i + 1, h.score, h.id.c_str(), h.title.empty() ? "" : "  ",
                    h.title.c_str());
        if (!h.snippet.empty()) std::printf("     %s\n", h.snippet.c_str());
      }
      if (queries.size() > 1) std::printf("\n");
    }
    return 0;
  };
}

PEFT_COMMAND("search", "Search an index (peft index build) by vector, BM25 or hybrid", setup);

}  // namespace
}  // namespace peft::cli
