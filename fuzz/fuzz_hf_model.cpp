// A Hugging Face model folder as `peft train --model DIR` loads it
// (load_pretrained: config.json + model.safetensors + tokenizer.json, and
// tokenizer_config.json when given). Parts: config.json, model.safetensors,
// tokenizer.json, tokenizer_config.json (an empty part: no such file), a
// text. A folder that loads is then used: the text encoded, decoded, and a
// forward pass over its first tokens (ids taken modulo the model's
// vocabulary: the tokenizer and the model need not agree, and forward
// checks ids itself).
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <string>

#include "core/batch.h"
#include "fuzz_util.h"
#include "train/pretrained.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  const auto dir = peft::fuzz::scratch_dir() / "hf";
  std::filesystem::create_directories(dir);
  const char* names[] = {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"};
  for (int i = 0; i < 4; ++i) {
    const std::string_view p = peft::fuzz::part(in, i);
    if (i == 3 && p.empty())
      std::filesystem::remove(dir / names[i]);
    else
      peft::fuzz::write_scratch(std::string("hf/") + names[i], p);
  }
  const std::string_view text = peft::fuzz::part(in, 4);
  peft::fuzz::run_guarded([&] {
    peft::Pretrained p = peft::load_pretrained(dir.string());
    std::vector<int32_t> ids = p.tokenizer->encode(text, true);
    (void)p.tokenizer->decode(ids, false);
    const auto& cfg = p.model->cfg;
    if (ids.size() < 2 || cfg.vocab_size <= 0) return;
    ids.resize(std::min<size_t>(ids.size(), 8));
    peft::Batch b;
    b.B = 1;
    b.T = static_cast<int64_t>(ids.size());
    for (int64_t t = 0; t < b.T; ++t) {
      b.tokens.push_back(static_cast<int32_t>(static_cast<uint32_t>(ids[t]) % static_cast<uint32_t>(cfg.vocab_size)));
      b.positions.push_back(static_cast<int32_t>(t));
    }
    // Next-token targets; the last token has none.
    for (int64_t t = 0; t < b.T; ++t) b.targets.push_back(t + 1 < b.T ? b.tokens[t + 1] : -1);
    (void)p.model->forward_loss(b);
  });
  return 0;
}
