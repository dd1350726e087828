#include "embed/ranking_metrics.h"

#include <algorithm>
#include <cmath>
#include <functional>

namespace peft {

namespace {

int64_t cut(const std::vector<int>& ranked, int64_t k) {
  return std::min<int64_t>(k, static_cast<int64_t>(ranked.size()));
}

// Σ_{i≤k, g_i>0} g_i / log2(i+1) over grades in the order given (i 1-based).
double dcg(const std::vector<int>& grades, int64_t k) {
  double sum = 0;
  for (int64_t i = 0; i < cut(grades, k); ++i)
    if (grades[i] > 0) sum += grades[i] / std::log2(static_cast<double>(i + 2));
  return sum;
}

}  // namespace

double ndcg_at_k(const std::vector<int>& ranked, const std::vector<int>& judged_grades, int64_t k) {
  std::vector<int> ideal = judged_grades;
  std::sort(ideal.begin(), ideal.end(), std::greater<int>());
  const double idcg = dcg(ideal, k);
  // trec_eval leaves the DCG undivided when the ideal is 0; the DCG is then
  // 0 too (no grade > 0 exists to be retrieved).
  return idcg > 0 ? dcg(ranked, k) / idcg : 0.0;
}

double reciprocal_rank_at_k(const std::vector<int>& ranked, int64_t k) {
  for (int64_t i = 0; i < cut(ranked, k); ++i)
    if (ranked[i] >= 1) return 1.0 / static_cast<double>(i + 1);
  return 0.0;
}

double recall_at_k(const std::vector<int>& ranked, int64_t num_relevant, int64_t k) {
  if (num_relevant <= 0) return 0.0;
  int64_t found = 0;
  for (int64_t i = 0; i < cut(ranked, k); ++i) found += ranked[i] >= 1;
  return static_cast<double>(found) / static_cast<double>(num_relevant);
}

double average_precision_at_k(const std::vector<int>& ranked, int64_t num_relevant, int64_t k) {
  if (num_relevant <= 0) return 0.0;
  int64_t found = 0;
  double sum = 0;
  for (int64_t i = 0; i < cut(ranked, k); ++i) {
    if (ranked[i] < 1) continue;
    ++found;
    sum += static_cast<double>(found) / static_cast<double>(i + 1);
  }
  return sum / static_cast<double>(num_relevant);
}

}  // namespace peft
