// recall@10 of the index at its default settings against exact search on
// 100,000 uniformly random unit vectors of dim 384 (issue 9's worst case for
// a graph index; the manpages-ir half is SearchCli.HnswRecall... in
// test_search_cli). The truth is this file's own brute force, not the
// index's exact scan.
#include <gtest/gtest.h>

#include <cstdio>
#include <set>

#include "search/index.h"
#include "search_test_data.h"
#include "test_util.h"

using namespace peft;

TEST(SearchRecall, DefaultSettingsOn100kRandomUnitVectorsOfDim384) {
  constexpr int64_t kN = 100000, kD = 384, kQueries = 200;
  const auto vecs = test::uniform_unit_vectors(kN, kD, 11);
  const auto queries = test::uniform_unit_vectors(kQueries, kD, 12);  // fresh draws, not stored vectors
  Manifest m;
  m.model = "test-model";
  m.model_id = "0123456789abcdef";
  m.embedder = "test";
  m.pooling = "mean";
  m.dims = kD;
  ASSERT_EQ(m.ef_search, 0);  // the default: calibrated
  const std::string dir = test::temp_dir("search-recall") + "/idx";
  {
    auto idx = SearchIndex::create(dir, m);
    std::vector<SearchDocument> docs(static_cast<size_t>(kN));
    for (int64_t i = 0; i < kN; ++i) docs[size_t(i)].id = "v" + std::to_string(i);
    // In commits of 25,000, as a build in several commits does.
    for (int64_t s = 0; s < kN; s += 25000) {
      std::vector<SearchDocument> part(docs.begin() + s, docs.begin() + s + 25000);
      idx->add(part, &vecs[size_t(s * kD)]);
    }
  }
  auto idx = SearchIndex::open(dir);
  const auto info = idx->info();
  EXPECT_EQ(info.documents, kN);
  std::printf("default breadth: %s, probes' recall %.4f\n",
              info.default_ef > 0 ? ("ef " + std::to_string(info.default_ef)).c_str() : "exact scan", info.calibrated_recall);
  int64_t found = 0;
  for (int64_t q = 0; q < kQueries; ++q) {
    const float* v = &queries[size_t(q * kD)];
    std::set<std::string> want;
    for (auto r : test::brute_top_k(vecs, kD, v, 10)) want.insert("v" + std::to_string(r));
    SearchRequest r;
    r.k = 10;
    r.vector.assign(v, v + kD);
    const auto hits = idx->search(r);
    ASSERT_EQ(hits.size(), 10u);
    for (const auto& h : hits) found += int64_t(want.count(h.id));
  }
  const double recall = double(found) / double(10 * kQueries);
  std::printf("recall@10 at the default settings: %.4f\n", recall);
  EXPECT_GE(recall, 0.95);
}
