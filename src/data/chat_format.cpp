#include "data/chat_format.h"

#include <filesystem>

#include "core/error.h"

namespace peft {

namespace {

// Each message as <|im_start|>role\n content <|im_end|>\n; the generation
// prompt opens an assistant turn.
constexpr const char* kChatml =
    "{%- for message in messages -%}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' -}}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}";

// Llama-2 chat: a system message is folded into the first user turn inside
// <<SYS>> markers; each user turn is wrapped in [INST] ... [/INST] after a
// BOS, and each assistant reply ends with EOS. User and assistant turns must
// alternate, as Meta's reference code requires.
constexpr const char* kLlama2 =
    "{%- if messages[0]['role'] == 'system' -%}"
    "{%- set system = messages[0]['content'] -%}{%- set turns = messages[1:] -%}"
    "{%- else -%}{%- set system = '' -%}{%- set turns = messages -%}{%- endif -%}"
    "{%- for message in turns -%}"
    "{%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}"
    "{{- raise_exception('llama-2 conversations must alternate user and assistant turns, starting with user') -}}"
    "{%- endif -%}"
    "{%- if message['role'] == 'user' -%}"
    "{%- if loop.first and system -%}"
    "{{- bos_token + '[INST] <<SYS>>\\n' + system + '\\n<</SYS>>\\n\\n' + message['content'] + ' [/INST]' -}}"
    "{%- else -%}{{- bos_token + '[INST] ' + message['content'] + ' [/INST]' -}}{%- endif -%}"
    "{%- else -%}{{- ' ' + message['content'] + ' ' + eos_token -}}{%- endif -%}"
    "{%- endfor -%}";

}  // namespace

std::vector<std::string> builtin_chat_template_names() { return {"chatml", "llama-2"}; }

std::string builtin_chat_template(const std::string& name) {
  if (name == "chatml") return kChatml;
  if (name == "llama-2" || name == "llama2") return kLlama2;
  return "";
}

ChatTemplate resolve_chat_template(const std::string& choice, const std::optional<ChatTemplate>& model) {
  if (choice.empty()) return model ? *model : ChatTemplate::from_string(kChatml, "chatml");
  std::string src = builtin_chat_template(choice);
  if (!src.empty()) return ChatTemplate::from_string(src, choice);
  std::error_code ec;
  if (std::filesystem::exists(choice, ec)) return ChatTemplate::from_file(choice);
  std::string names;
  for (const auto& n : builtin_chat_template_names()) names += (names.empty() ? "" : ", ") + n;
  fail("data", "chat template '" + choice + "' is neither a built-in (" + names + ") nor an existing file");
}

}  // namespace peft
