#include "search/fusion.h"

#include <algorithm>
#include <unordered_map>

namespace peft {

std::vector<FusedItem> rrf_fuse(const std::vector<int64_t>& a, const std::vector<int64_t>& b, int64_t k, double c) {
  std::unordered_map<int64_t, FusedItem> by_key;
  auto add = [&](const std::vector<int64_t>& list, bool first) {
    for (size_t i = 0; i < list.size(); ++i) {
      auto [it, fresh] = by_key.try_emplace(list[i], FusedItem{list[i], 0.0});
      const int64_t rank = int64_t(i) + 1;
      // Sum in a fixed order (a, then b) so equal inputs give equal bits.
      it->second.score += 1.0 / (c + double(rank));
      (first ? it->second.rank_a : it->second.rank_b) = rank;
    }
  };
  add(a, true);
  add(b, false);
  std::vector<FusedItem> out;
  out.reserve(by_key.size());
  for (auto& [key, item] : by_key) out.push_back(item);
  auto best_single = [](const FusedItem& f) {
    int64_t r = INT64_MAX;
    if (f.rank_a) r = std::min(r, f.rank_a);
    if (f.rank_b) r = std::min(r, f.rank_b);
    return r;
  };
  std::sort(out.begin(), out.end(), [&](const FusedItem& x, const FusedItem& y) {
    if (x.score != y.score) return x.score > y.score;
    if (best_single(x) != best_single(y)) return best_single(x) < best_single(y);
    return x.key < y.key;
  });
  if (int64_t(out.size()) > k) out.resize(size_t(std::max<int64_t>(k, 0)));
  return out;
}

}  // namespace peft
