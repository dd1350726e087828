// tokenizer.json (part 0 of the input) loaded, then the text of part 1
// encoded (with and without special tokens and offsets) and decoded back,
// also token by token through the streaming decoder.
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "tokenizer/load.h"
#include "tokenizer/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string path = peft::fuzz::write_scratch("tokenizer.json", peft::fuzz::part(in, 0));
  std::string_view text = peft::fuzz::part(in, 1);
  peft::fuzz::run_guarded([&] {
    auto tok = peft::load_tokenizer(path);
    (void)tok->summary();
    auto ids = tok->encode(text, true);
    (void)tok->decode(ids, true);
    (void)tok->decode(ids, false);
    peft::StreamDecoder stream(*tok);
    for (int32_t id : ids) (void)stream.push(id);
    (void)stream.flush();
    (void)tok->encode_text(text, true, tok->has_offsets());
    for (int32_t id : ids) (void)tok->token_text(id);
    // Ids the text did not produce, at the edges of the vocabulary.
    int32_t n = tok->vocab_size();
    (void)tok->decode({0, n - 1, n, -1}, false);
  });
  return 0;
}
