// Chat templates: the Jinja programs in Hugging Face tokenizer_config.json
// (or chat_template.jinja) that turn a list of messages into the prompt text
// a model was trained on. Rendering follows Jinja as transformers configures
// it (trim_blocks, lstrip_blocks, loop controls, its tojson, raise_exception
// and strftime_now), so the text matches Python's byte for byte.
//
// Errors are peft::InputError: "[template] <name>:<line>: <problem>" for
// malformed templates and runtime faults, "[template] <message>" when the
// template itself calls raise_exception(message).
#pragma once
#include <nlohmann/json.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace peft {

namespace jinja {
struct Node;
}

struct ChatRenderOptions {
  // What strftime_now() reports; the current time when absent.
  std::optional<std::chrono::system_clock::time_point> now;
  // When set, receives the [begin, end) byte ranges of the text written by
  // {% generation %} blocks: the assistant turns transformers masks with
  // return_assistant_tokens_mask (empty when the template has no such blocks).
  std::vector<std::pair<size_t, size_t>>* generation_spans = nullptr;
  // Bounds that end a runaway template (a crafted tokenizer_config.json) with
  // one error instead of a hang or exhausted memory: the evaluation steps
  // (statements and expressions entered; a real template over a long
  // conversation takes tens of thousands) and the bytes of the rendered
  // text or of any one string value.
  int64_t max_steps = 5'000'000;
  size_t max_bytes = size_t{64} << 20;
};

// What transformers' apply_chat_template adds to the variables.
struct ChatApplyOptions {
  bool add_generation_prompt = false;  // true wins over the context's own value
  std::optional<std::string> bos_token, eos_token;  // override the tokenizer config's
  ChatRenderOptions render;
};

class ChatTemplate {
 public:
  // A .jinja file, a tokenizer_config.json (its chat_template: a string, or a
  // list of {name, template} of which "default" is used), or a model
  // directory holding chat_template.jinja or tokenizer_config.json.
  static ChatTemplate from_file(const std::string& path);
  // `name` appears in error messages.
  static ChatTemplate from_string(const std::string& source, const std::string& name = "template");

  // Renders with the keys of `context` (messages, add_generation_prompt,
  // bos_token, tools, ...) as variables. Object key order is kept, so
  // tojson prints dicts as they were given.
  std::string render(const nlohmann::ordered_json& context, const ChatRenderOptions& options = {}) const;
  std::string render(const nlohmann::json& context, const ChatRenderOptions& options = {}) const;
  // As transformers' apply_chat_template(tokenize=False): renders `context`
  // (messages plus any extra variables) with add_generation_prompt set, and
  // bos_token / eos_token from the options, else the context, else the
  // tokenizer config (left undefined when none has them).
  std::string apply(nlohmann::ordered_json context, const ChatApplyOptions& options = {}) const;

  // The template laid out one tag per line with `-` on every tag, so the
  // layout adds no whitespace: it renders exactly as the original does.
  std::string format() const;

  const std::string& name() const { return name_; }
  const std::string& source() const { return source_; }
  // Special tokens named in the tokenizer_config.json the template came from
  // (empty otherwise).
  const std::string& bos_token() const { return bos_token_; }
  const std::string& eos_token() const { return eos_token_; }

 private:
  std::string name_, source_, bos_token_, eos_token_;
  std::shared_ptr<const std::vector<std::unique_ptr<jinja::Node>>> nodes_;
};

// Reads the variables to render with from a JSON file: an array of
// {role, content} messages (becomes {"messages": [...]}) or an object that
// holds `messages` and any other variables (tools, documents, date_string,
// enable_thinking, ...). Throws "[template] <path>: <problem>".
nlohmann::ordered_json load_chat_context(const std::string& path);

}  // namespace peft
