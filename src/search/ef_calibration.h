// The default HNSW search breadth of an index, measured on its own graph.
//
// A fixed ef_search cannot promise a recall: on embeddings of real text
// (clustered, low intrinsic dimension) ef 64 finds 99.9% of the exact top 10
// of manpages-ir, while on 100,000 uniformly random unit vectors of dim 384
// the same ef finds 6% of it (bench/results/search.md; FAISS's HNSW at the
// same M and ef gives the same numbers, so this is the data, not the
// library). An index built with ef_search 0 (the default) therefore picks
// its breadth after every large write: it searches probe queries at
// ef = 16, 32, 64, ... and keeps the smallest ef whose recall@10 against the
// exhaustive scan reaches the target plus a margin for the probes' sampling
// error. When no breadth reaches it before a graph search costs about as
// much as scanning every vector, the index answers vector queries by the
// exhaustive scan instead (recall 1 at that price): on data without
// neighbourhood structure no graph beats the scan.
//
// Probes, two kinds, and both must reach the target:
// - fresh points drawn from a Gaussian with the stored vectors' per-dimension
//   mean and spread (normalised): queries that, unlike stored vectors, are
//   not nodes of the graph; on unstructured data they are exactly the
//   queries' distribution, on real embeddings they are harder than real
//   queries (they fall between the clusters), so the choice errs wide;
// - stored vectors, their own label left out of both rankings.
// The probes are drawn from a fixed seed, so the same graph gives the same
// choice.
#pragma once
#include <cstdint>

namespace peft {

class HnswGraph;

struct EfCalibration {
  static constexpr int64_t kExactScan = -1;
  int64_t ef = kExactScan;      // chosen breadth, or kExactScan
  double recall = 1.0;          // recall@10 of the probes at that choice
  double visited_share = 0;     // distances per query / live vectors at that ef
  int64_t probes = 0;           // probe queries used (both kinds)
  int64_t live = 0;             // live vectors when measured
};

// Measures `graph` (which must not change meanwhile; it is only searched)
// and chooses the default breadth for recall@10 >= `target`.
EfCalibration calibrate_ef(const HnswGraph& graph, double target);

}  // namespace peft
