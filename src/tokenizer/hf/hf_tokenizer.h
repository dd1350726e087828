// A Hugging Face tokenizer.json as a peft::Tokenizer: added tokens, then
// normalizer, pre-tokenizer, model and post-processor on encode; decoder on
// decode. The pipeline is assembled from the file, with no per-model code.
#pragma once
#include <memory>
#include <string>

#include "tokenizer/tokenizer.h"

namespace peft {

// Reads `tokenizer_json_path`. A tokenizer_config.json beside it, when
// present, supplies the BOS/EOS token names and, for the Llama-family
// classes, add_bos_token / add_eos_token as transformers applies them on
// load. transformers' extra clean_up_tokenization_spaces pass on decode is
// not applied: the goldens transformers 4.57 made for GPT-2 show it off.
// Throws InputError "[tokenizer] <path>: <problem>" for a file it cannot
// use.
std::unique_ptr<Tokenizer> load_hf_tokenizer(const std::string& tokenizer_json_path);

}  // namespace peft
