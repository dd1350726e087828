// What a sentence-transformers (or plain Hugging Face) folder says about
// turning token states into one embedding per text.
//
// sentence-transformers layout: modules.json lists the modules in order,
//   [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
//    {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
//    {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}]
// The Transformer's path is "" in current folders and "0_Transformer" in
// older ones; it holds config.json, the weights, the tokenizer and
// sentence_bert_config.json ({"max_seq_length": 256, ...}). 1_Pooling/config.json
// has pooling_mode_{cls_token,mean_tokens,max_tokens,mean_sqrt_len_tokens,
// weightedmean_tokens,lasttoken} flags (or, in newer files, "pooling_mode":
// "mean") and include_prompt. config_sentence_transformers.json holds
// "prompts" {name: text}, "default_prompt_name" and "similarity_fn_name".
// A folder without modules.json but with config.json is a plain Hugging Face
// model, which sentence-transformers embeds with mean pooling and no
// normalisation; so do we.
#pragma once
#include <cstdint>
#include <map>
#include <string>

#include "ops/pooling.h"

namespace peft {

struct EmbeddingFolder {
  std::string root;             // the folder given
  std::string transformer_dir;  // config.json, weights, tokenizer
  bool sentence_transformers = false;  // modules.json was present
  ops::PoolMode pooling = ops::PoolMode::Mean;
  bool normalize = false;
  int64_t dim = 0;             // Pooling's word_embedding_dimension; 0 when not given
  int64_t max_seq_length = 0;  // sentence_bert_config.json; 0 when not given
  bool include_prompt = true;  // false: pooling skips the prompt's tokens
  std::map<std::string, std::string> prompts;
  std::string default_prompt_name;
  std::string similarity;  // "cosine", "dot", ... or empty when not given
};

// Throws InputError "[model] <dir>: ..." for a folder that is not an
// embedding model (neither modules.json nor config.json, no Transformer
// module, a module we do not run such as Dense, a pooling mode other than
// cls, mean or last, several pooling modes at once) and "[config] ..." for
// malformed JSON.
EmbeddingFolder read_embedding_folder(const std::string& dir);

}  // namespace peft
