// The approximate nearest-neighbour graph of an index: hnswlib's HNSW over
// L2-normalised f32 vectors with inner-product distance (1 - cosine), keyed
// by 64-bit labels (the documents' SQLite rowids), plus the exhaustive scan
// that evaluation and filtered search use.
//
// Why hnswlib and not FAISS's IndexHNSWFlat (bench/search_bench.cpp measures
// both): hnswlib marks single elements deleted and reuses nothing behind our
// back, so delete-by-id and upsert need no rebuild; it is header-only; and
// its graph file is one flat dump that loads at disk speed. FAISS's HNSW
// cannot remove vectors at all (remove_ids is unsupported for IndexHNSW).
//
// Deleted elements stay in the graph as routing nodes (their results are
// dropped) until rebuild(); search quality after many deletions recovers
// with `peft index rebuild`.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace peft {

struct ScoredLabel {
  float score;      // cosine similarity, higher is better
  uint64_t label;
};

class HnswGraph {
 public:
  HnswGraph(int64_t dims, int64_t m, int64_t ef_construction, int64_t capacity = 1024);
  // Loads a graph saved by save(). Throws InputError "[search] <path>: ..."
  // when the file is not a graph of `dims` f32 values or is truncated.
  static std::unique_ptr<HnswGraph> load(const std::string& path, int64_t dims);
  ~HnswGraph();

  // Writes the graph to `path` atomically: `path`.tmp, fsync, rename, fsync
  // of the folder. Throws InputError "[search] cannot write ...".
  void save(const std::string& path) const;

  // Inserts rows [n, dims] (already normalised) under `labels`, using
  // `threads` threads (0 = all cores). The graph grows as needed. A label
  // already present is an internal error (callers delete first).
  void add(const float* rows, const uint64_t* labels, int64_t n, int threads = 0);
  void mark_deleted(uint64_t label);
  bool contains(uint64_t label) const;  // present and not deleted

  // The k best live labels by HNSW, visiting max(ef, k) candidates, best first.
  std::vector<ScoredLabel> search(const float* query, int64_t k, int64_t ef) const;
  // As search(), but keeps only labels `allow` accepts; widens the search
  // until k are found or the whole graph has been searched, then falls back
  // to the exhaustive scan.
  std::vector<ScoredLabel> search_filtered(const float* query, int64_t k, int64_t ef,
                                           const std::function<bool(uint64_t)>& allow) const;
  // The k best live labels by scanning every vector (optionally only labels
  // `allow` accepts), best first; ties by smaller label.
  std::vector<ScoredLabel> exact(const float* query, int64_t k,
                                 const std::function<bool(uint64_t)>& allow = nullptr) const;

  // Calls fn(label, vector) for every live element, in slot order.
  void for_each_live(const std::function<void(uint64_t, const float*)>& fn) const;
  // Distances hnswlib has computed in searches since the graph was made or
  // loaded (its own counter; calibration reads the difference around a
  // batch of searches to price a search breadth against the scan).
  int64_t distance_computations() const;

  int64_t dims() const { return dims_; }
  int64_t m() const;
  int64_t ef_construction() const;
  int64_t elements() const;  // slots, deleted included
  int64_t deleted() const;
  int64_t live() const { return elements() - deleted(); }
  // Bytes held in memory by the graph (vectors, links, label map).
  int64_t memory_bytes() const;

  struct Impl;

 private:
  HnswGraph() = default;
  int64_t dims_ = 0;
  std::unique_ptr<Impl> impl_;
};

// Scales `v` [dims] to unit length. Returns false (leaves v) when its norm is
// zero or not finite.
bool normalize_vector(float* v, int64_t dims);

}  // namespace peft
