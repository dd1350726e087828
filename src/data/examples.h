// Records tokenized into training examples: token ids with a per-token loss
// mask. scored[i] = 1 means tokens[i] is a target, predicted from the
// tokens before it; scored[0] is always 0 (nothing predicts the first token).
//
//   text               BOS + text (+ EOS)                        all scored
//   prompt/completion  BOS + prompt + completion + EOS           completion and EOS scored
//   messages           the chat template's rendering (BOS first  assistant turns scored
//                      when the tokenizer adds one and the
//                      template did not write it)
//
// train_on_prompt scores every token (but the first) of every kind.
#pragma once
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "data/records.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace peft {

struct Example {
  std::vector<int32_t> tokens;
  std::vector<uint8_t> scored;  // same length as tokens
  int64_t line = 0;             // the record's line in its file

  int64_t n_scored() const {
    int64_t n = 0;
    for (uint8_t s : scored) n += s;
    return n;
  }
};

struct ExampleOptions {
  bool train_on_prompt = false;
  bool add_eos = true;  // end text and completions with EOS (when the tokenizer has one)
  // What a template's strftime_now() reports; absent = the time the builder
  // was made. One value for every render, so the prefixes of a conversation
  // agree with the whole even across midnight.
  std::optional<std::chrono::system_clock::time_point> now;
};

class ExampleBuilder {
 public:
  // `chat` renders messages records; it may be null when there are none.
  ExampleBuilder(const Tokenizer& tok, const ChatTemplate* chat, ExampleOptions opt);

  // Throws "[data] <path>:<line>: ..." when a conversation cannot be
  // rendered or its turns cannot be located in the rendering.
  Example build(const Record& r, const std::string& path) const;

 private:
  Example build_text(const Record& r) const;
  Example build_prompt_completion(const Record& r) const;
  Example build_messages(const Record& r, const std::string& path) const;
  std::string render(const nlohmann::ordered_json& messages, bool generation_prompt) const;
  bool add_bos() const;

  const Tokenizer& tok_;
  const ChatTemplate* chat_;
  ExampleOptions opt_;
  ChatRenderOptions render_opt_;
  std::string bos_text_, eos_text_;
};

}  // namespace peft
