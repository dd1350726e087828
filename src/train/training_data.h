// Reading a training file into data sources: plain text (tokenized as one
// stream, BOS first, windows of seq_len) or JSONL records (see
// data/examples.h), with an evaluation set from --eval-data or a held-out
// tail of the training data.
#pragma once
#include <memory>
#include <string>

#include "data/data_source.h"
#include "data/text_windows.h"
#include "tokenizer/tokenizer.h"

namespace peft {

struct DataOptions {
  int64_t seq_len = 256;
  double eval_split = 0.1;  // used when eval_path is empty; 0 = no evaluation
  std::string eval_path;
  Sampling sampling = Sampling::Random;
  uint64_t seed = 0;
  // JSONL field mapping (empty = the standard names).
  std::string prompt_field, completion_field, text_field;
  bool train_on_prompt = false;
};

struct TrainingData {
  std::unique_ptr<DataSource> train;
  std::unique_ptr<DataSource> eval;  // may be null
};

// A file is JSONL when its name ends in .jsonl or .json; anything else is text.
TrainingData load_training_data(const std::string& path, const Tokenizer& tok, const DataOptions& opt);

// Text tokenized as one stream with BOS first (when the tokenizer has one).
std::vector<int32_t> tokenize_stream(const std::string& text, const Tokenizer& tok);

}  // namespace peft
