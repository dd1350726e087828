#include "search/negatives.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "core/error.h"
#include "search/corpus.h"

namespace peft {

namespace {
double dot(const float* a, const float* b, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += double(a[i]) * b[i];
  return s;
}
}  // namespace

std::vector<Triplet> mine_hard_negatives(Searcher& s, const std::vector<std::pair<std::string, std::string>>& queries,
                                         const std::map<std::string, std::vector<std::string>>& positives,
                                         const MineSettings& o, MineStats* stats) {
  if (o.per_query < 1) fail("search", "--per-query must be >= 1");
  if (o.skip_top < 0) fail("search", "--skip-top must be >= 0");
  if (!(o.margin >= 0 && o.margin < 1)) fail("search", "--margin must be in [0, 1)");
  if (!(o.near_duplicate > 0 && o.near_duplicate <= 1)) fail("search", "--near-duplicate must be in (0, 1]");
  MineStats st;
  SearchIndex& idx = s.index();
  const int64_t dims = s.manifest().dims;

  // Queries that have a positive document in the index, with those documents.
  struct Job {
    std::string id, text;
    std::vector<SearchDocument> pos;
    std::set<std::string> pos_ids;
  };
  std::vector<Job> jobs;
  for (const auto& [qid, text] : queries) {
    auto it = positives.find(qid);
    if (it == positives.end()) continue;
    Job j{qid, text, {}, {}};
    for (const auto& pid : it->second) {
      j.pos_ids.insert(pid);
      if (auto d = idx.get(pid)) j.pos.push_back(*d);
    }
    if (j.pos.empty()) {
      ++st.skipped_queries;
      continue;
    }
    jobs.push_back(std::move(j));
  }
  std::vector<std::string> texts;
  for (const auto& j : jobs) texts.push_back(j.text);
  const std::vector<float> qv = texts.empty() ? std::vector<float>() : s.embed_queries(texts);

  std::vector<Triplet> out;
  for (size_t qi = 0; qi < jobs.size(); ++qi) {
    const Job& j = jobs[qi];
    const float* q = &qv[qi * size_t(dims)];
    ++st.queries;
    // cos(q, p) for each positive (both unit vectors once the query is
    // normalised, as the index normalises it).
    std::vector<double> pos_score, ceiling;
    std::vector<std::vector<float>> pos_vec;
    double qq = 0;
    for (int64_t i = 0; i < dims; ++i) qq += double(q[i]) * q[i];
    for (const auto& p : j.pos) {
      pos_vec.push_back(idx.vector(p.id));
      const double c = qq > 0 ? dot(q, pos_vec.back().data(), dims) / std::sqrt(qq) : 0;
      pos_score.push_back(c);
      // (1 - margin) cos(q, p) for a positive cosine; for a negative one,
      // still `margin` of its size below it.
      ceiling.push_back(c - o.margin * std::fabs(c));
    }
    const double lowest_ceiling = *std::min_element(ceiling.begin(), ceiling.end());
    // Candidates, in rank order, after the skip; the search widens until
    // every positive can get per_query negatives below its margin (a weak
    // model may rank many documents above a positive) or the index is done.
    std::vector<SearchHit> hits;
    std::vector<const SearchHit*> cands;
    int64_t depth = o.depth > 0 ? o.depth : o.skip_top + 4 * o.per_query + int64_t(j.pos_ids.size()) + 20;
    const int64_t total = idx.count();
    for (;;) {
      SearchRequest req;
      req.mode = SearchMode::kVector;
      req.k = std::min(depth, total);
      req.vector.assign(q, q + dims);
      hits = idx.search(req);
      cands.clear();
      int64_t usable = 0;
      for (size_t r = size_t(o.skip_top); r < hits.size(); ++r) {
        const SearchHit& h = hits[r];
        if (h.id == j.id || j.pos_ids.count(h.id)) continue;
        // A chunk of a positive document is that document.
        const auto hash = h.id.rfind('#');
        if (hash != std::string::npos && j.pos_ids.count(h.id.substr(0, hash))) {
          auto d = idx.get(h.id);
          if (d && d->meta.contains("parent") && j.pos_ids.count(d->meta["parent"].get<std::string>())) continue;
        }
        cands.push_back(&h);
        if (h.score <= o.max_score && h.score < lowest_ceiling) ++usable;
      }
      if (usable >= o.per_query || req.k >= total || o.depth > 0) break;
      depth *= 4;
    }
    for (size_t pi = 0; pi < j.pos.size(); ++pi) {
      const SearchDocument& p = j.pos[pi];
      int64_t taken = 0;
      for (const SearchHit* h : cands) {
        if (taken == o.per_query) break;
        if (h->score > o.max_score) continue;
        if (h->score >= ceiling[pi]) continue;
        auto neg = idx.get(h->id);
        if (!neg) continue;
        // A near-duplicate of the positive (same text, or stored vectors
        // with cosine >= near_duplicate) is no negative, whatever q says.
        if (document_embed_text(*neg) == document_embed_text(p)) continue;
        if (o.near_duplicate < 1 && dot(idx.vector(h->id).data(), pos_vec[pi].data(), dims) >= o.near_duplicate) continue;
        Triplet t;
        t.query_id = j.id;
        t.positive_id = p.id;
        t.negative_id = h->id;
        t.anchor = j.text;
        t.positive = document_embed_text(p);
        t.negative = document_embed_text(*neg);
        t.positive_score = pos_score[pi];
        t.negative_score = h->score;
        out.push_back(std::move(t));
        ++taken;
      }
      if (taken < o.per_query) ++st.short_queries;
    }
  }
  st.triplets = int64_t(out.size());
  if (stats) *stats = st;
  return out;
}

}  // namespace peft
