// Writing an encoder embedder as a complete sentence-transformers folder, in
// the current layout that SentenceTransformer(path) loads (and so do we):
//   config.json, model.safetensors      the encoder, adapters merged, with
//                                       transformers' BertModel names
//   tokenizer.json (+ tokenizer_config.json, special_tokens_map.json,
//   vocab.txt, sentencepiece.bpe.model when the source has them)
//   sentence_bert_config.json           {"max_seq_length", "do_lower_case"}
//   modules.json                        Transformer (path ""), Pooling, Normalize
//   1_Pooling/config.json               the pooling_mode_* flags, include_prompt
//   2_Normalize/                        (empty; only when the model normalises)
//   config_sentence_transformers.json   prompts, default_prompt_name, similarity
#pragma once
#include <string>

#include "embed/embedder.h"
#include "train/apply_adapter.h"

namespace peft {

// Folds an adapter into the encoder's base weights: W += scale · ΔW for every
// layer the PEFT folder names (ΔW as the adapter's plain LoRA). Throws
// InputError "[peft] ..." for a folder that does not fit, "[embed] ..." for
// a decoder embedder (use the Llama merge, train/apply_adapter.h).
void merge_encoder_adapter(Embedder& e, const AdapterSpec& spec);

// Writes `dir` (created; files written atomically) from an encoder embedder;
// adapters sitting in its slots are merged into the written weights (the
// embedder itself is left as it was). The tokenizer files are copied from
// the source folder, so the source must be a Hugging Face / sentence-
// transformers folder; a GGUF source or a decoder fails with "[embed] ...".
void save_sentence_transformers(Embedder& e, const std::string& dir);

}  // namespace peft
