// Training data for embedding models: tuples of texts, no tokenizer needed.
//
//   JSONL pairs       {"anchor": "...", "positive": "..."}
//   JSONL triplets    {"anchor": "...", "positive": "...", "negative": "..."}
//                     (more hard negatives: "negative_1", "negative_2", … as
//                     sentence-transformers' mined datasets name them)
//   scored pairs      {"sentence1": "...", "sentence2": "...", "score": 0.8}  (JSONL)
//                     or the STS benchmark's tab-separated files (data/scored_pairs.h),
//                     whose 0–5 scores are divided by 5 so that cosine and
//                     cosent losses see labels in [0, 1]
//   BEIR folder       DIR/corpus.jsonl, DIR/queries.jsonl, DIR/qrels/SPLIT.tsv:
//                     one (query text, document "title text") pair per qrels
//                     row with grade > 0 (data/beir.h)
//
// The kind of a JSONL file is taken from its first record's fields; every
// record must then have the same fields, else "[data] FILE:LINE: ..." (an
// InputError, exit code 2). Column 0 is the anchor (sentence1), column 1 the
// positive (sentence2), columns 2… the negatives.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/data_source.h"

namespace peft {

struct TextExample {
  std::vector<std::string> texts;  // `columns` texts
  double score = 0;                // scored pairs only
  int64_t line = 0;                // 1-based line in its file (qrels row for BEIR)
};

struct TextExamples {
  std::string source;  // the file or folder read
  std::string kind;    // "pairs", "triplets", "scored", "beir"
  int64_t columns = 0;
  bool scored = false;
  std::vector<TextExample> rows;
};

// Reads a JSONL file, an STS-B .csv/.tsv file, or a BEIR folder (qrels
// split `beir_split`, "train" by default). Throws InputError "[data] ...".
TextExamples read_text_examples(const std::string& path, const std::string& beir_split = "train");
// The JSONL forms over text in memory (`path` names it in errors).
TextExamples parse_text_examples_jsonl(const std::string& text, const std::string& path);

// Draws batches of example indices in an order shuffled once per epoch by
// (seed, epoch), wrapping into the next epoch when one runs out, so every
// batch is full. position()/restore() give exact resume.
class TextExampleSampler {
 public:
  TextExampleSampler(int64_t size, uint64_t seed);
  std::vector<int64_t> next(int64_t batch);
  DataPosition position() const { return {epoch_, index_, 0, 0}; }
  void restore(const DataPosition& p);
  int64_t size() const { return size_; }

 private:
  void shuffle_epoch();
  int64_t size_;
  uint64_t seed_;
  int64_t epoch_ = 0, index_ = 0;
  std::vector<int64_t> order_;
};

}  // namespace peft
