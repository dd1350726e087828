// Reading a training file into data sources: plain text (tokenized as one
// stream, BOS first, windows of seq_len) or JSONL records (see
// data/examples.h), with an evaluation set from --eval-data or a held-out
// tail of the training data.
#pragma once
#include <memory>
#include <optional>
#include <string>

#include "data/data_source.h"
#include "data/text_windows.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace peft {

struct DataOptions {
  int64_t seq_len = 256;
  double eval_split = 0.1;  // used when eval_path is empty; 0 = no evaluation
  std::string eval_path;
  Sampling sampling = Sampling::Random;  // text only: JSONL examples are always shuffled per epoch
  uint64_t seed = 0;
  // JSONL field mapping (empty = the standard names).
  std::string prompt_field, completion_field, text_field;
  bool train_on_prompt = false;
  // Chat template for messages records: a built-in name (chatml, llama-2) or
  // a template file; empty = model_chat_template, else chatml.
  std::string chat_template;
  std::optional<ChatTemplate> model_chat_template;
  bool add_eos = true;  // end text and completion examples with EOS
};

struct TrainingData {
  std::unique_ptr<DataSource> train;
  std::unique_ptr<DataSource> eval;  // may be null
};

// A file is JSONL when its name ends in .jsonl or .json; anything else is text.
TrainingData load_training_data(const std::string& path, const Tokenizer& tok, const DataOptions& opt);

struct Pretrained;
// The model's own chat template, if any: GGUF tokenizer.chat_template, or a
// Hugging Face directory's chat_template.jinja / tokenizer_config.json.
std::optional<ChatTemplate> model_chat_template(const Pretrained& p);

// Text tokenized as one stream with BOS first (when the tokenizer has one).
std::vector<int32_t> tokenize_stream(const std::string& text, const Tokenizer& tok);

}  // namespace peft
