// `peft chat-template`: prints exactly the rendering of a real
// tokenizer_config.json's template, takes the special tokens and flags as
// Hugging Face passes them, and fails with exit code 2 and one line on bad
// input.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "test_util.h"

namespace peft {
namespace {

using OJson = nlohmann::ordered_json;
using test::run_cli;

const char* kQwenSystem = "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n";

TEST(ChatTemplateCli, QwenToolCallConversationMatchesTheReference) {
  // The Qwen2.5 case of the shared e2e file uses the same template as the
  // shared tokenizer_config.json: its messages and tools must render to its target.
  OJson cases = OJson::parse(test::read_file(test::shared_path("hf/chat-templates/hf-jinja-e2e.cases.json")));
  const OJson& c = cases.at("TEST_CUSTOM_TEMPLATES").at("Qwen/Qwen2.5-7B-Instruct");
  std::string dir = test::temp_dir("chat-cli");
  test::write_file(dir + "/messages.json", c.at("data").dump());
  std::string config = test::shared_path("hf/qwen2.5-instruct/tokenizer_config.json");
  test::CliResult r = run_cli({"chat-template", "--template", config, "--messages", dir + "/messages.json"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, c.at("target").get<std::string>());

  r = run_cli({"chat-template", "--template", config, "--messages", dir + "/messages.json", "--add-generation-prompt"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, c.at("target").get<std::string>() + "<|im_start|>assistant\n");
}

TEST(ChatTemplateCli, PlainMessageArray) {
  std::string dir = test::temp_dir("chat-cli");
  test::write_file(dir + "/m.json", R"([{"role": "user", "content": "Hi"}])");
  test::CliResult r = run_cli({"chat-template", "--template", test::shared_path("hf/qwen2.5-instruct/tokenizer_config.json"),
                               "--messages", dir + "/m.json", "--add-generation-prompt"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, std::string(kQwenSystem) + "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
}

TEST(ChatTemplateCli, SpecialTokensFlagsAndVariables) {
  std::string dir = test::temp_dir("chat-cli");
  test::write_file(dir + "/t.jinja", "{{ bos_token }}|{{ eos_token }}|{{ add_generation_prompt }}|{{ messages | length }}|{{ extra }}\n");
  test::write_file(dir + "/m.json", R"({"messages": [{"role": "user", "content": "x"}], "extra": "E"})");
  test::CliResult r = run_cli({"chat-template", "--template", dir + "/t.jinja", "--messages", dir + "/m.json",
                               "--bos-token", "<s>", "--eos-token", "</s>"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "<s>|</s>|False|1|E");

  // Without flags the tokens come from the tokenizer_config.json (string or {content}).
  test::write_file(dir + "/tokenizer_config.json",
                   R"({"bos_token": {"content": "<B>"}, "eos_token": "<E>", "chat_template": "{{ bos_token }}{{ eos_token }}"})");
  r = run_cli({"chat-template", "--template", dir + "/tokenizer_config.json", "--messages", dir + "/m.json"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "<B><E>");

  test::write_file(dir + "/d.jinja", "{{ strftime_now('%d %B %Y') }}");
  r = run_cli({"chat-template", "--template", dir + "/d.jinja", "--messages", dir + "/m.json", "--date", "2025-07-10"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "10 July 2025");
}

TEST(ChatTemplateCli, FormatPrintsTheTemplateLaidOut) {
  std::string dir = test::temp_dir("chat-cli");
  test::write_file(dir + "/t.jinja", "{% for m in messages %}{{ m['role'] }}: {{ m.content }}\n{% endfor %}");
  test::CliResult r = run_cli({"chat-template", "--template", dir + "/t.jinja", "--format"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out,
            "{%- for m in messages -%}\n"
            "    {{- m[\"role\"] -}}\n"
            "    {{- \": \" -}}\n"
            "    {{- m.content -}}\n"
            "    {{- \"\\n\" -}}\n"
            "{%- endfor -%}\n");
  r = run_cli({"chat-template", "--template", dir + "/t.jinja"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_EQ(r.err, "error: [chat-template] --messages is required (unless --format)\n");
}

TEST(ChatTemplateCli, BadInputExitsTwoWithOneLine) {
  std::string dir = test::temp_dir("chat-cli");
  test::write_file(dir + "/m.json", R"([{"role": "assistant", "content": "x"}])");
  test::write_file(dir + "/bad.jinja", "ok\n{% for m in messages %}{{ m.content | nope }}{% endfor %}");
  test::write_file(dir + "/raise.jinja", "{% if messages[0].role != 'user' %}{{ raise_exception('first message must be from the user') }}{% endif %}");
  struct Case {
    std::vector<std::string> args;
    std::string err;
  };
  const Case cases[] = {
      {{"--template", dir + "/bad.jinja", "--messages", dir + "/m.json"},
       "error: [template] " + dir + "/bad.jinja:2: unknown filter 'nope'\n"},
      {{"--template", dir + "/raise.jinja", "--messages", dir + "/m.json"},
       "error: [template] first message must be from the user\n"},
      {{"--template", dir + "/raise.jinja", "--messages", dir + "/missing.json"},
       "error: [template] " + dir + "/missing.json: cannot open file\n"},
      {{"--template", dir + "/raise.jinja", "--messages", dir + "/m.json", "--date", "July"},
       "error: [chat-template] --date must be YYYY-MM-DD, got 'July'\n"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = {"chat-template"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    test::CliResult r = run_cli(args);
    EXPECT_EQ(r.rc, 2);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, c.err);
  }
}

}  // namespace
}  // namespace peft
