// peft chat-template: render a model's chat template over a conversation,
// to see exactly the text (special tokens included) a model is trained on.
#include <cstdio>
#include <ctime>

#include "command.h"
#include "core/error.h"
#include "tokenizer/chat_template.h"

namespace peft::cli {
namespace {

struct Opts {
  std::string template_path, messages_path, bos, eos, date;
  bool add_generation_prompt = false, format = false;
};

// "YYYY-MM-DD" -> noon UTC that day (noon, so the local date is the same
// day in every time zone strftime_now might use).
std::chrono::system_clock::time_point parse_date(const std::string& s) {
  std::tm tm{};
  int y, m, d;
  char tail;
  if (std::sscanf(s.c_str(), "%d-%d-%d%c", &y, &m, &d, &tail) != 3 || m < 1 || m > 12 || d < 1 || d > 31 ||
      y < 1900 || y > 9999)
    fail("chat-template", "--date must be YYYY-MM-DD, got '" + s + "'");
  tm.tm_year = y - 1900;
  tm.tm_mon = m - 1;
  tm.tm_mday = d;
  tm.tm_hour = 12;
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

std::function<int()> setup(CLI::App& app) {
  auto o = std::make_shared<Opts>();
  app.add_option("--template", o->template_path,
                 "A .jinja file, a tokenizer_config.json, or a model directory")
      ->required()
      ->check(CLI::ExistingPath);
  auto* messages = app.add_option("--messages", o->messages_path,
                                  "JSON: an array of {role, content}, or an object with messages and other variables");
  app.add_flag("--format", o->format, "Print the template itself laid out one tag per line (no --messages needed)");
  app.add_flag("--add-generation-prompt", o->add_generation_prompt, "End with the header of an assistant turn");
  auto* bos = app.add_option("--bos-token", o->bos, "bos_token (default: from tokenizer_config.json)");
  auto* eos = app.add_option("--eos-token", o->eos, "eos_token (default: from tokenizer_config.json)");
  app.add_option("--date", o->date, "The date strftime_now() reports, YYYY-MM-DD (default: today)");
  return [o, bos, eos, messages]() {
    ChatTemplate t = ChatTemplate::from_file(o->template_path);
    if (o->format) {
      std::string text = t.format() + "\n";
      std::fwrite(text.data(), 1, text.size(), stdout);
      return 0;
    }
    if (!messages->count()) fail("chat-template", "--messages is required (unless --format)");
    ChatApplyOptions opts;
    opts.add_generation_prompt = o->add_generation_prompt;
    if (bos->count()) opts.bos_token = o->bos;
    if (eos->count()) opts.eos_token = o->eos;
    if (!o->date.empty()) opts.render.now = parse_date(o->date);
    std::string text = t.apply(load_chat_context(o->messages_path), opts);
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
    return 0;
  };
}

PEFT_COMMAND("chat-template", "Render a chat template over a conversation (prints exactly the text)", setup);

}  // namespace
}  // namespace peft::cli
