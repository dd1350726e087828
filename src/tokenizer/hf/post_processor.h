// Post-processors of tokenizer.json: what encode adds around the tokens of
// one text when special tokens are asked for (BOS for Llama, [CLS] ... [SEP]
// for BERT, <s> ... </s> for RoBERTa). Only single sequences are encoded
// here, so the "pair" templates are read but not used.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "tokenizer/hf/json_util.h"

namespace peft::hf {

class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  // Rewrites `ids` (the tokens of one text); nothing changes unless
  // add_special.
  virtual void process(std::vector<int32_t>& ids, bool add_special) const = 0;
};

// From the "post_processor" object; null gives nullptr.
std::unique_ptr<PostProcessor> make_post_processor(const Json& j);

// Adds `before` and `after` around the text's ids (BertProcessing,
// RobertaProcessing and single-sequence templates all come down to this).
std::unique_ptr<PostProcessor> make_wrap_processor(std::vector<int32_t> before, std::vector<int32_t> after);

}  // namespace peft::hf
