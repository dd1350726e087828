// JSONL training records: the kind detected from the first record, every
// record read, and conversations rendered with the built-in chat templates
// (the path `peft train --data` takes before tokenizing).
#include <cstdint>
#include <string>

#include "data/chat_format.h"
#include "data/jsonl.h"
#include "data/records.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string path = peft::fuzz::write_scratch("train.jsonl", {reinterpret_cast<const char*>(data), size});
  peft::fuzz::run_guarded([&] { (void)peft::read_jsonl(path); });
  peft::fuzz::run_guarded([&] {
    auto records = peft::read_records(path, peft::FieldNames{});
    static const peft::ChatTemplate chatml = peft::resolve_chat_template("chatml", std::nullopt);
    static const peft::ChatTemplate llama2 = peft::resolve_chat_template("llama-2", std::nullopt);
    for (const auto& r : records) {
      if (r.kind != peft::RecordKind::Messages) continue;
      nlohmann::ordered_json ctx = {{"messages", r.messages}};
      peft::fuzz::run_guarded([&] { (void)chatml.apply(ctx); });
      peft::fuzz::run_guarded([&] { (void)llama2.apply(ctx); });
    }
  });
  return 0;
}
