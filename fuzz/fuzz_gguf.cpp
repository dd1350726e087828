// GGUF reader: header, metadata, tensor table, tensor views, and loading a
// model (llama family or bert) from whatever the file says it is.
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "io/gguf.h"
#include "model/bert.h"
#include "model/bert_load.h"
#include "model/config.h"
#include "model/llama.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string path = peft::fuzz::write_scratch("in.gguf", {reinterpret_cast<const char*>(data), size});
  peft::fuzz::run_guarded([&] {
    auto f = peft::GgufFile::open(path);
    // Every typed getter on every key: each must answer or throw InputError.
    for (const auto& kv : f->metadata()) {
      const std::string& key = kv.first;
      peft::fuzz::run_guarded([&] { (void)f->get_string(key); });
      peft::fuzz::run_guarded([&] { (void)f->get_int(key); });
      peft::fuzz::run_guarded([&] { (void)f->get_float(key); });
      peft::fuzz::run_guarded([&] { (void)f->get_bool(key); });
      peft::fuzz::run_guarded([&] { (void)f->get_string_array(key); });
      peft::fuzz::run_guarded([&] { (void)f->get_f32_array(key); });
      peft::fuzz::run_guarded([&] { (void)f->get_int_array(key); });
    }
    // Touch the first and last byte of every tensor: ASan sees any view
    // that reaches past the mapping.
    unsigned sum = 0;
    for (const auto& t : f->tensors()) {
      peft::fuzz::run_guarded([&] {
        peft::Tensor x = f->tensor(t.name);
        const auto* p = static_cast<const uint8_t*>(x.data());
        if (t.nbytes > 0) sum += p[0] + p[t.nbytes - 1];
      });
    }
    (void)sum;
    std::string arch = f->get_string("general.architecture", "");
    if (arch == "bert") {
      peft::fuzz::run_guarded([&] { (void)peft::load_bert_gguf<float>(*f); });
    } else {
      peft::fuzz::run_guarded([&] { (void)peft::load_llama_gguf<float>(*f); });
    }
  });
  return 0;
}
