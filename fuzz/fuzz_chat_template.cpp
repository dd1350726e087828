// The Jinja chat-template engine: a template (part 0 of the input) parsed,
// pretty-printed, and rendered with a context (part 1, JSON; a fixed
// two-message conversation when part 1 is not JSON). The interpreter's own
// limits (nesting, range sizes, output size, steps) must end every input
// quickly with one error.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "tokenizer/chat_template.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string source(peft::fuzz::part(in, 0));
  std::string_view ctx_text = peft::fuzz::part(in, 1);
  nlohmann::ordered_json ctx = nlohmann::ordered_json::parse(ctx_text, nullptr, false);
  if (ctx.is_discarded() || !ctx.is_object()) {
    ctx = {{"messages",
            {{{"role", "system"}, {"content", "Be brief."}}, {{"role", "user"}, {"content", "Hi"}}}},
           {"bos_token", "<s>"},
           {"eos_token", "</s>"}};
  }
  peft::fuzz::run_guarded([&] {
    auto t = peft::ChatTemplate::from_string(source, "fuzz");
    peft::fuzz::run_guarded([&] { (void)t.format(); });
    peft::ChatApplyOptions opt;
    opt.add_generation_prompt = true;
    opt.render.now = std::chrono::system_clock::time_point{};
    // Smaller bounds than a user's (5M steps, 64 MiB) keep each input well
    // under a second with the sanitizers on; the same code paths end it.
    opt.render.max_steps = 200'000;
    opt.render.max_bytes = size_t{1} << 20;
    (void)t.apply(ctx, opt);
  });
  return 0;
}
