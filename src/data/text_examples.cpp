#include "data/text_examples.h"

#include <filesystem>
#include <set>

#include "core/error.h"
#include "core/rng.h"
#include "data/beir.h"
#include "data/jsonl.h"
#include "data/scored_pairs.h"
#include "io/atomic_file.h"

namespace peft {

namespace {

namespace fs = std::filesystem;

[[noreturn]] void bad_line(const std::string& path, int64_t line, const std::string& what) {
  fail("data", path + ":" + std::to_string(line) + ": " + what);
}

std::string text_field(const nlohmann::ordered_json& v, const std::string& key, const std::string& path,
                       int64_t line) {
  auto it = v.find(key);
  if (it == v.end()) bad_line(path, line, "missing the field \"" + key + "\"");
  if (!it->is_string()) bad_line(path, line, "\"" + key + "\" is not a string");
  return it->get<std::string>();
}

// The hard-negative fields of a record: "negative", or "negative_1", "negative_2", … .
std::vector<std::string> negative_keys(const nlohmann::ordered_json& v) {
  if (v.contains("negative")) return {"negative"};
  std::vector<std::string> keys;
  for (int k = 1; v.contains("negative_" + std::to_string(k)); ++k) keys.push_back("negative_" + std::to_string(k));
  return keys;
}

TextExamples from_scored_pairs(const std::vector<ScoredPair>& pairs, const std::string& path, double divide) {
  TextExamples t;
  t.source = path;
  t.kind = "scored";
  t.columns = 2;
  t.scored = true;
  for (const ScoredPair& p : pairs) t.rows.push_back({{p.sentence1, p.sentence2}, p.score / divide, p.line});
  return t;
}

TextExamples read_beir_pairs(const std::string& dir, const std::string& split) {
  const BeirSet set = read_beir_folder(dir, split);
  TextExamples t;
  t.source = dir;
  t.kind = "beir";
  t.columns = 2;
  for (const Qrels::Row& r : set.qrels.rows) {
    if (r.relevance <= 0) continue;  // judged non-relevant: not a positive
    const int64_t q = set.queries.index.at(r.query_id), d = set.corpus.index.at(r.doc_id);
    t.rows.push_back({{set.queries.texts[q], set.corpus.joined(d)}, 0, r.line});
  }
  if (t.rows.empty()) fail("data", set.qrels_path + ": no (query, document) pair with a grade above 0");
  return t;
}

}  // namespace

TextExamples parse_text_examples_jsonl(const std::string& text, const std::string& path) {
  const std::vector<JsonlRecord> recs = parse_jsonl(text, path);
  if (recs.empty()) fail("data", path + ": no records");
  const nlohmann::ordered_json& first = recs[0].value;
  if (first.contains("sentence1") || first.contains("score"))
    return from_scored_pairs(parse_scored_pairs_jsonl(text, path), path, 1.0);
  if (!first.contains("anchor"))
    bad_line(path, recs[0].line,
             "an embedding-training record needs \"anchor\" and \"positive\" (and optionally \"negative\"), or "
             "\"sentence1\", \"sentence2\" and \"score\"");
  const std::vector<std::string> negs = negative_keys(first);
  TextExamples t;
  t.source = path;
  t.kind = negs.empty() ? "pairs" : "triplets";
  t.columns = 2 + static_cast<int64_t>(negs.size());
  for (const JsonlRecord& r : recs) {
    TextExample e;
    e.line = r.line;
    e.texts.push_back(text_field(r.value, "anchor", path, r.line));
    e.texts.push_back(text_field(r.value, "positive", path, r.line));
    for (const std::string& k : negs) e.texts.push_back(text_field(r.value, k, path, r.line));
    if (negs.empty() && r.value.contains("negative"))
      bad_line(path, r.line, "has a \"negative\" although the first record has none (every record needs the same fields)");
    t.rows.push_back(std::move(e));
  }
  return t;
}

TextExamples read_text_examples(const std::string& path, const std::string& beir_split) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    if (!fs::exists(fs::path(path) / "corpus.jsonl", ec))
      fail("data", "'" + path + "' is a folder without corpus.jsonl (a BEIR folder has corpus.jsonl, queries.jsonl, qrels/)");
    return read_beir_pairs(path, beir_split);
  }
  if (!fs::exists(path, ec)) fail("data", "'" + path + "' does not exist");
  const std::string text = read_file_bytes(path);
  size_t i = 0;
  while (i < text.size() && (text[i] == ' ' || text[i] == '\n' || text[i] == '\r' || text[i] == '\t')) ++i;
  if (i == text.size()) fail("data", path + ": no records");
  if (text[i] == '{' || text[i] == '[') return parse_text_examples_jsonl(text, path);
  // The STS benchmark's tab-separated layout: scores 0–5, to [0, 1].
  return from_scored_pairs(parse_sts_tsv(text, path), path, 5.0);
}

TextExampleSampler::TextExampleSampler(int64_t size, uint64_t seed) : size_(size), seed_(seed) {
  if (size_ <= 0) fail("data", "no training examples");
  shuffle_epoch();
}

void TextExampleSampler::shuffle_epoch() {
  order_.resize(static_cast<size_t>(size_));
  for (int64_t i = 0; i < size_; ++i) order_[i] = i;
  // Fisher-Yates with an RNG derived from (seed, epoch) only, as the token
  // sources do, so an epoch's order does not depend on what came before.
  Rng r(seed_ * 0x9e3779b97f4a7c15ull + static_cast<uint64_t>(epoch_) + 1);
  for (int64_t i = size_ - 1; i > 0; --i) {
    const int64_t j = static_cast<int64_t>(r.next_u64() % static_cast<uint64_t>(i + 1));
    std::swap(order_[i], order_[j]);
  }
}

std::vector<int64_t> TextExampleSampler::next(int64_t batch) {
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(batch));
  while (static_cast<int64_t>(out.size()) < batch) {
    if (index_ == size_) {
      ++epoch_;
      index_ = 0;
      shuffle_epoch();
    }
    out.push_back(order_[index_++]);
  }
  return out;
}

void TextExampleSampler::restore(const DataPosition& p) {
  if (p.epoch < 0 || p.index < 0 || p.index > size_)
    fail("data", "the saved data position does not fit these examples (was the data changed?)");
  epoch_ = p.epoch;
  index_ = p.index;
  shuffle_epoch();
}

}  // namespace peft
