#include "embed/exact_search.h"

#include <algorithm>
#include <unordered_map>

#include "ops/matmul.h"

namespace peft {

RetrievalRun exact_search(const float* queries, const std::vector<std::string>& query_ids, const float* docs,
                          const std::vector<std::string>& doc_ids, int64_t dim, int64_t k,
                          bool ignore_identical_ids) {
  const int64_t nq = static_cast<int64_t>(query_ids.size()), nd = static_cast<int64_t>(doc_ids.size());
  RetrievalRun run;
  if (nq == 0 || nd == 0) return run;
  std::unordered_map<std::string_view, int64_t> doc_pos;
  if (ignore_identical_ids)
    for (int64_t d = 0; d < nd; ++d) doc_pos.emplace(doc_ids[d], d);
  // Queries per block: about 64 MiB of scores at most, at least one query.
  const int64_t block = std::max<int64_t>(1, std::min<int64_t>(nq, (int64_t{16} << 20) / std::max<int64_t>(nd, 1)));
  std::vector<float> scores(static_cast<size_t>(block * nd));  // [block, nd]
  std::vector<uint8_t> keep;
  for (int64_t q0 = 0; q0 < nq; q0 += block) {
    const int64_t nb = std::min(block, nq - q0);
    // scores[nb, nd] = queries[q0:q0+nb, dim] · docs[nd, dim]ᵀ
    ops::gemm<float>(false, true, nb, nd, dim, 1.0f, queries + q0 * dim, dim, docs, dim, 0.0f, scores.data(), nd);
    for (int64_t i = 0; i < nb; ++i) {
      const std::string& qid = query_ids[q0 + i];
      const uint8_t* mask = nullptr;
      auto same = ignore_identical_ids ? doc_pos.find(qid) : doc_pos.end();
      if (same != doc_pos.end()) {
        keep.assign(static_cast<size_t>(nd), 1);
        keep[static_cast<size_t>(same->second)] = 0;
        mask = keep.data();
      }
      run[qid] = top_k(scores.data() + i * nd, doc_ids, k, mask);
    }
  }
  return run;
}

}  // namespace peft
