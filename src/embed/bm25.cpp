#include "embed/bm25.h"

#include <cmath>
#include <limits>
#include <unordered_set>

#include "core/error.h"

namespace peft {

namespace {

bool is_stopword(std::string_view t) {
  static const std::unordered_set<std::string_view> kStop = {
      "a",  "an",  "and",  "are",  "as",    "at",   "be",    "but",  "by",   "for",  "if",
      "in", "into", "is",  "it",   "no",    "not",  "of",    "on",   "or",   "such", "that",
      "the", "their", "then", "there", "these", "they", "this", "to", "was", "will", "with"};
  return kStop.count(t) > 0;
}

bool word_byte(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80; }

}  // namespace

std::vector<std::string> bm25_tokens(std::string_view text, bool stopwords) {
  std::vector<std::string> out;
  std::string cur;
  auto flush = [&] {
    if (!cur.empty() && !(stopwords && is_stopword(cur))) out.push_back(cur);
    cur.clear();
  };
  for (char ch : text) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (!word_byte(c)) {
      flush();
      continue;
    }
    cur.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : ch);
  }
  flush();
  return out;
}

Bm25Index::Bm25Index(const std::vector<std::string>& docs, const Bm25Options& o) : opt_(o) {
  if (!(o.k1 >= 0) || !std::isfinite(o.k1)) fail("bm25", "k1 must be >= 0, got " + std::to_string(o.k1));
  if (!(o.b >= 0 && o.b <= 1)) fail("bm25", "b must be in [0, 1], got " + std::to_string(o.b));
  if (docs.empty()) fail("bm25", "no documents to index");
  if (docs.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max())) fail("bm25", "too many documents");
  doc_len_.resize(docs.size());
  double total = 0;
  std::unordered_map<std::string, int32_t> tf;
  for (size_t d = 0; d < docs.size(); ++d) {
    std::vector<std::string> toks = bm25_tokens(docs[d], o.stopwords);
    doc_len_[d] = static_cast<int64_t>(toks.size());
    total += static_cast<double>(toks.size());
    tf.clear();
    for (std::string& t : toks) ++tf[std::move(t)];
    for (auto& [term, n] : tf) postings_[term].push_back({static_cast<int32_t>(d), n});
  }
  avgdl_ = total / static_cast<double>(docs.size());
}

double Bm25Index::idf(const std::string& term) const {
  auto it = postings_.find(term);
  if (it == postings_.end()) return 0.0;
  const double n = static_cast<double>(size()), df = static_cast<double>(it->second.size());
  return std::log(1.0 + (n - df + 0.5) / (df + 0.5));
}

void Bm25Index::score_all(std::string_view query, std::vector<double>& scores, std::vector<uint8_t>& matched) const {
  scores.assign(doc_len_.size(), 0.0);
  matched.assign(doc_len_.size(), 0);
  // An empty corpus (every document analysed to nothing) has avgdl 0: then
  // no document holds a term and nothing below runs.
  for (const std::string& term : bm25_tokens(query, opt_.stopwords)) {
    auto it = postings_.find(term);
    if (it == postings_.end()) continue;
    const double w = idf(term);
    for (const Posting& p : it->second) {
      const double tf = p.tf;
      const double norm = opt_.k1 * (1.0 - opt_.b + opt_.b * static_cast<double>(doc_len_[p.doc]) / avgdl_);
      scores[p.doc] += w * tf * (opt_.k1 + 1.0) / (tf + norm);
      matched[p.doc] = 1;
    }
  }
}

std::vector<ScoredDoc> Bm25Index::search(std::string_view query, const std::vector<std::string>& ids, int64_t k) const {
  PEFT_CHECK(static_cast<int64_t>(ids.size()) == size(), "bm25", "ids do not match the indexed documents");
  std::vector<double> scores;
  std::vector<uint8_t> matched;
  score_all(query, scores, matched);
  return top_k(scores.data(), ids, k, matched.data());
}

}  // namespace peft
