// Which chat template renders "messages" records: the one named by the user
// (a built-in name or a template file), else the model's own
// (tokenizer.chat_template in GGUF, chat_template in tokenizer_config.json),
// else the built-in chatml, which most instruction-tuned models without a
// template of their own have been trained with.
//
// Built-ins, written here as small Jinja programs so they run through the
// same interpreter as a model's template:
//   chatml   <|im_start|>{role}\n{content}<|im_end|>\n per message
//   llama-2  <s>[INST] <<SYS>>\n{system}\n<</SYS>>\n\n{user} [/INST] {assistant} </s>
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "tokenizer/chat_template.h"

namespace peft {

// The names of the built-in templates.
std::vector<std::string> builtin_chat_template_names();
// The Jinja source of a built-in template, or "" when `name` is not one.
std::string builtin_chat_template(const std::string& name);

// choice: a built-in name, a path to a template file (see
// ChatTemplate::from_file), or "" for the model's own template (when it has
// one) falling back to chatml. Throws "[data] ..." for a choice that is
// neither a built-in name nor an existing file.
ChatTemplate resolve_chat_template(const std::string& choice, const std::optional<ChatTemplate>& model);

}  // namespace peft
