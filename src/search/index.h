// The persistent search index: one folder on disk holding documents, their
// embedding vectors, an HNSW graph over the vectors and a BM25 full-text
// index, searched by vector, by BM25 or by both fused (hybrid).
//
// The folder (docs/search.md has the full story):
//   manifest.json       how the vectors were made (model, adapter, pooling,
//                       dims, normalisation, prompts) and the index settings;
//                       written once by create(), atomically (temp + rename)
//   docs.sqlite         documents (id, title, text, JSON metadata), their
//                       vectors (f32 blobs, the source of truth), an FTS5
//                       table for BM25 and the index generation number
//   hnsw-<gen>.bin      the HNSW graph of generation <gen> (hnswlib), a cache
//                       that open() rebuilds from docs.sqlite if it is missing
//
// Atomicity: every write (add, remove, rebuild) is one SQLite transaction
// that also bumps the generation. The new graph is saved as
// hnsw-<gen+1>.bin (temp, fsync, rename) BEFORE that transaction commits;
// readers load the graph file of the committed generation. A crash before
// the commit leaves generation <gen> and its graph file untouched (the
// orphan hnsw-<gen+1>.bin is removed by the next writer); a crash after it
// leaves the new generation complete. Old graph files are deleted after the
// commit.
//
// Scores: vectors are stored L2-normalised, so the vector score is the
// cosine similarity (higher is better); BM25 scores are FTS5's bm25()
// negated (higher is better); hybrid scores are reciprocal-rank fusion,
// sum over the two rankings of 1 / (60 + rank), rank starting at 1.
//
// Threads: search(), get(), info() and count() may run concurrently with
// each other; add(), remove() and rebuild() take the index exclusively (a
// search waits for a write to finish, and sees the old or the new contents,
// never a mix). One process writes an index at a time (open() for writing
// takes a lock file; a second writer gets "[search] ... is locked").
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "search/manifest.h"

namespace peft {

// One document. `meta` is a JSON object (may be empty): the JSONL record's
// fields other than _id/id, title and text.
struct SearchDocument {
  std::string id;
  std::string title;
  std::string text;
  nlohmann::json meta = nlohmann::json::object();
};

enum class SearchMode { kVector, kBm25, kHybrid };
// "vector" | "bm25" | "hybrid"; throws InputError "[search] ..." otherwise.
SearchMode parse_search_mode(const std::string& s);
const char* search_mode_name(SearchMode m);

// A metadata filter: every (key, value) pair must hold (AND). A key names a
// top-level metadata field, or a nested one with dots ("source.lang").
// A value matches a string field equal to it, a number whose JSON text is it
// ("3", "1.5"), or true/false/null by name. Documents without the field never
// match.
struct SearchFilter {
  std::vector<std::pair<std::string, std::string>> equals;
  bool empty() const { return equals.empty(); }
};
// "KEY=VALUE" -> a filter term; throws InputError "[search] --where ..." for
// a missing '=' or a key with characters outside [A-Za-z0-9_.-].
std::pair<std::string, std::string> parse_where(const std::string& s);

struct SearchRequest {
  SearchMode mode = SearchMode::kVector;
  int64_t k = 10;                // results wanted (>= 1)
  std::vector<float> vector;     // [dims] the query's embedding (vector, hybrid)
  std::string text;              // the query's text (bm25, hybrid; and snippets)
  SearchFilter where;
  bool exact = false;            // vector part by exhaustive scan, not HNSW
  int64_t ef = 0;                // HNSW search breadth; 0 = the index's default (info().default_ef)
  int64_t fusion_depth = 0;      // hybrid: candidates per ranking; 0 = max(100, k)
  // Snippets (0 = none): up to this many tokens of the best-matching part of
  // the text, matched query words wrapped in open/close (FTS5 snippet()).
  int64_t snippet_tokens = 0;
  std::string snippet_open = "[", snippet_close = "]";
};

struct SearchHit {
  std::string id;
  std::string title;
  double score = 0;          // the mode's score (see the top of the file)
  int64_t vector_rank = 0;   // 1-based rank in the vector ranking, 0 = absent
  int64_t bm25_rank = 0;     // 1-based rank in the BM25 ranking, 0 = absent
  double vector_score = 0;   // cosine, when vector_rank > 0
  double bm25_score = 0;     // -bm25(), when bm25_rank > 0
  std::string snippet;       // when snippet_tokens > 0
};

struct SearchIndexInfo {
  std::string dir;
  Manifest manifest;
  int64_t documents = 0;        // live documents
  int64_t graph_elements = 0;   // HNSW slots, including deleted ones
  int64_t graph_deleted = 0;    // slots marked deleted (until rebuild)
  int64_t generation = 0;       // bumped by every committed write
  // The breadth used when a query names none: the manifest's ef_search, or
  // with ef_search 0 the calibrated one; -1 = the exact scan.
  int64_t default_ef = 0;
  double calibrated_recall = 0;  // the calibration probes' recall@10 (0 = fixed ef)
  int64_t disk_bytes = 0;       // the folder's files
  nlohmann::json to_json() const;
};

class SearchIndex {
 public:
  enum class Access { kRead, kWrite };

  // A new, empty index in `dir` (created; must not exist or be empty).
  // Throws InputError "[search] ..." if `dir` holds anything.
  static std::unique_ptr<SearchIndex> create(const std::string& dir, const Manifest& manifest);
  // An existing index. Throws InputError "[search] <dir>: not an index
  // (no manifest.json)" and the like for a folder that is not one.
  static std::unique_ptr<SearchIndex> open(const std::string& dir, Access access = Access::kRead);
  ~SearchIndex();

  const Manifest& manifest() const;
  const std::string& dir() const;
  SearchIndexInfo info() const;
  int64_t count() const;  // live documents

  // Adds documents with their vectors [docs.size(), manifest().dims], row i
  // for docs[i] (normalised here). A document whose id is already in the
  // index replaces it; in a chunked index (manifest chunk_tokens > 0) a
  // document replaces every stored chunk of the same source document (ids
  // "D#j" with metadata parent D, search/corpus.h), so a shorter new text
  // leaves none of the old chunks behind. All or nothing: one transaction,
  // one new generation.
  // Throws InputError "[search] ..." for an empty id, a repeated id within
  // `docs`, a non-finite or all-zero vector, a read-only index.
  void add(const std::vector<SearchDocument>& docs, const float* vectors);
  // Removes documents by id; ids not in the index are skipped. In a chunked
  // index an id also removes that document's chunks. Returns how many rows
  // were removed. All or nothing, one new generation (none if 0).
  int64_t remove(const std::vector<std::string>& ids);
  // Builds a fresh HNSW graph from the stored vectors (drops deleted slots;
  // settings may change M / ef_construction, 0 = keep). One new generation.
  void rebuild(int64_t m = 0, int64_t ef_construction = 0);

  std::vector<SearchHit> search(const SearchRequest& req) const;

  // Lookups.
  bool contains(const std::string& id) const;
  std::optional<SearchDocument> get(const std::string& id) const;
  std::vector<std::string> ids() const;  // in insertion order
  // The stored (normalised) vector of `id`, empty if absent.
  std::vector<float> vector(const std::string& id) const;

  struct Impl;

 private:
  explicit SearchIndex(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace peft
