// What an embedding training run writes into its output folder (and into
// each checkpoint): the adapter as a PEFT folder (Embedder::save_adapter:
// task_type FEATURE_EXTRACTION, the Hugging Face model's key names), or,
// under full fine-tuning, the whole model in a form Embedder::load reads
// back:
//   encoder from a Hugging Face / sentence-transformers folder → a complete
//     sentence-transformers folder (embed/st_folder.h);
//   decoder from a GGUF file → model.gguf with the source's metadata and tokenizer;
//   decoder from a Hugging Face folder → config.json + model.safetensors with
//     the source's tokenizer files copied.
// An adapter folder also gets embedding_settings.json (embed/adapter_settings.h):
// the model's pooling, normalisation and max length as trained, and the
// query / document prompts (names resolved to text, "" kept).
#pragma once
#include <string>

#include "embed/embedder.h"
#include "train/method.h"

namespace peft {

// Throws InputError "[train] ..." when `method` trains the base and the
// model's source cannot be written back (a bert GGUF), before any training.
void check_embedding_output(Embedder& model, const std::string& method);

void save_embedding_output(Embedder& model, const MethodSetup& s, const std::string& dir,
                           const std::string& query_prompt = "", const std::string& doc_prompt = "");

}  // namespace peft
