// Post-processors of tokenizer.json: what encode adds around the tokens of
// one text or a pair when special tokens are asked for ([CLS] A [SEP] B
// [SEP] for BERT, <s> A </s></s> B </s> for RoBERTa, BOS for Llama), with
// the type ids each part gets; ByteLevel trims spaces off token offsets.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tokenizer/encoding.h"
#include "tokenizer/hf/json_util.h"

namespace peft::hf {

class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  // `encs` holds the encoding of each text (one, or two for a pair); the
  // processor rewrites them and may merge them. The caller concatenates
  // whatever is left.
  virtual void process(std::vector<Encoding>& encs, bool add_special) const = 0;
  // How many tokens process adds with add_special.
  virtual size_t added_tokens(bool pair) const = 0;
};

// The text of a token id (ByteLevel's offset trimming looks at it).
using TokenText = std::function<std::string(int32_t)>;

// From the "post_processor" object; null gives nullptr.
std::unique_ptr<PostProcessor> make_post_processor(const Json& j, TokenText token_text);

// Adds `before` and `after` around each text (what transformers' Llama
// classes rebuild from add_bos_token / add_eos_token: a pair gets
// before A after before B after, with type id 1 on the second half).
std::unique_ptr<PostProcessor> make_wrap_processor(std::vector<int32_t> before, std::vector<int32_t> after);

// Runs `p` (may be null: the texts are just concatenated) on one text or a
// pair and returns the single encoding.
Encoding run_post_processor(const PostProcessor* p, Encoding a, std::optional<Encoding> b, bool add_special);

}  // namespace peft::hf
