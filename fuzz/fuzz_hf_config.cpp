// config.json -> model configuration, as both a llama-family and a BERT
// configuration (a file names its own architecture; each reader must reject
// what it cannot use with one error).
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "model/bert_load.h"
#include "model/hf_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  peft::fuzz::run_guarded([&] { (void)peft::config_from_hf_json_text(text, "config.json"); });
  peft::fuzz::run_guarded([&] { (void)peft::bert_config_from_hf_json_text(text, "config.json"); });
  return 0;
}
