// A GGUF vocabulary (part 0 of the input; llama.cpp's tokenizer.ggml.* keys)
// loaded as our tokenizer, converted to tokenizer.json, and the text of part
// 1 encoded and decoded.
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "io/gguf.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab_convert.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string path = peft::fuzz::write_scratch("vocab.gguf", peft::fuzz::part(in, 0));
  std::string_view text = peft::fuzz::part(in, 1);
  peft::fuzz::run_guarded([&] {
    auto f = peft::GgufFile::open(path);
    peft::fuzz::run_guarded([&] {
      peft::HfTokenizerFiles files;
      std::string why;
      (void)peft::gguf_vocab_to_tokenizer_json(*f, &files, &why);
    });
    auto tok = peft::load_gguf_tokenizer(*f);
    auto ids = tok->encode(text, true);
    (void)tok->decode(ids, true);
    (void)tok->decode(ids, false);
    for (int32_t id : ids) (void)tok->token_text(id);
    int32_t n = tok->vocab_size();
    (void)tok->decode({0, n - 1, n, -1}, false);
  });
  return 0;
}
