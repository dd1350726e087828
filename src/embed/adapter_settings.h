// What an embedding adapter was trained with, kept beside its tensors.
//
// `peft train --task embedding` writes embedding_settings.json into every
// adapter folder it saves (the output and each checkpoint):
//
//   {"pooling": "mean", "normalize": true, "max_length": 48,
//    "query_prompt": "query: ", "doc_prompt": ""}
//
// An adapter learns the embeddings of one pipeline (how token states are
// pooled, whether vectors are normalised, how long texts are, which prompt
// each side gets); used under another one its numbers change. So
// Embedder::load with an adapter takes these as its defaults: pooling,
// normalisation and max length become the model's unless the caller asks
// for others (explicit options win; a difference from what the adapter was
// trained with is printed as a warning), and the prompts are what
// query_prompt_for / doc_prompt_for (embed/model_eval.h), STS evaluation and
// `peft index build` use when no prompt is given.
//
// Prompts are stored as text (a prompt name is resolved against the base
// model when saving), except that "" stays "": the trainer used the model's
// own choice there, and so will everything that reads the file.
//
// A folder without the file (adapters from PEFT, or from older runs) has no
// settings: the model's own apply, as before.
#pragma once
#include <optional>
#include <string>

namespace peft {

struct AdapterEmbeddingSettings {
  std::string pooling;  // "cls", "mean" or "last"
  bool normalize = true;
  int64_t max_length = 0;
  std::string query_prompt, doc_prompt;
};

inline constexpr const char* kAdapterSettingsFile = "embedding_settings.json";

// Writes dir/embedding_settings.json (atomically).
void write_adapter_settings(const std::string& dir, const AdapterEmbeddingSettings& s);
// The settings in dir, or nullopt when dir has no embedding_settings.json.
// Throws InputError "[embed] ..." for a file that is not valid settings.
std::optional<AdapterEmbeddingSettings> read_adapter_settings(const std::string& dir);

}  // namespace peft
