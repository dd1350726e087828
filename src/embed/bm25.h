// Okapi BM25 over an in-memory corpus, exact: every document containing a
// query term is scored, and the top k come out in trec_eval's order
// (ranking.h). It is the lexical baseline `peft eval retrieval --bm25`
// reports next to an embedding model.
//
// Analyzer (the same for documents and queries): bytes, with ASCII letters
// lowercased; a token is a maximal run of ASCII letters and digits or of
// bytes >= 0x80 (so a UTF-8 word such as "naïve" stays whole; non-ASCII case
// is not folded); everything else separates tokens ("resolv.conf" ->
// "resolv", "conf"; "pam_securetty" -> "pam", "securetty"). With
// `stopwords`, Lucene's 33 English stopwords (a, an, and, are, as, at, be,
// but, by, for, if, in, into, is, it, no, not, of, on, or, such, that, the,
// their, then, there, these, they, this, to, was, will, with) are removed.
// No stemming: Anserini's Porter stemmer would raise recall a little; an
// analyzer a reader can check by hand is worth more here.
//
// Score of document d for query q (terms with multiplicity, as Lucene's
// bag-of-words query adds a repeated term once per occurrence):
//
//   BM25(q, d) = Σ_{t ∈ q} idf(t) · tf(t,d)·(k1 + 1) / (tf(t,d) + k1·(1 − b + b·|d|/avgdl))
//   idf(t)     = ln(1 + (N − df(t) + 0.5) / (df(t) + 0.5))
//
// N = documents, df(t) = documents containing t, |d| = tokens of d after
// the analyzer, avgdl = mean |d|. This idf (Lucene's) is never negative.
// Lucene since 8.0 leaves out the constant (k1 + 1), so its scores are ours
// divided by (k1 + 1), with the same ranking; Lucene also stores |d| lossily
// in one byte, we keep it exact.
//
// Defaults k1 = 0.9, b = 0.4: Anserini's defaults, used by Pyserini's BM25
// baselines on BEIR (BEIR's own Elasticsearch runs use Lucene's 1.2 / 0.75;
// both are flags). A lower b normalises less for length, which suits
// corpora like man pages whose long documents are long because they cover
// more, not because they repeat.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "embed/ranking.h"

namespace peft {

struct Bm25Options {
  double k1 = 0.9;
  double b = 0.4;
  bool stopwords = true;
};

// The analyzer above.
std::vector<std::string> bm25_tokens(std::string_view text, bool stopwords);

class Bm25Index {
 public:
  // Throws InputError "[bm25] ..." for k1 < 0, b outside [0, 1] or no documents.
  Bm25Index(const std::vector<std::string>& docs, const Bm25Options& o);

  int64_t size() const { return static_cast<int64_t>(doc_len_.size()); }
  double avgdl() const { return avgdl_; }
  double idf(const std::string& term) const;  // 0 for a term no document holds
  int64_t doc_length(int64_t d) const { return doc_len_[d]; }

  // scores [N]: BM25(query, d) for every document; matched[d] = 1 when d
  // holds at least one query term (a search engine returns only those).
  void score_all(std::string_view query, std::vector<double>& scores, std::vector<uint8_t>& matched) const;

  // The k best matching documents (ids[d] names document d), trec_eval's order.
  std::vector<ScoredDoc> search(std::string_view query, const std::vector<std::string>& ids, int64_t k) const;

 private:
  struct Posting {
    int32_t doc;
    int32_t tf;
  };
  Bm25Options opt_;
  std::unordered_map<std::string, std::vector<Posting>> postings_;  // term -> docs in increasing order
  std::vector<int64_t> doc_len_;
  double avgdl_ = 0;
};

}  // namespace peft
