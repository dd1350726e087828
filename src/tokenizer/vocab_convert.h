// Vocabularies between GGUF metadata and Hugging Face's tokenizer.json, for
// the two kinds both can express:
//  - SentencePiece-style BPE (GGUF tokenizer.ggml.model = "llama": pieces,
//    scores, token types) ↔ a BPE model with byte_fallback, as transformers'
//    Llama converter writes it;
//  - byte-level BPE (GGUF "gpt2") ↔ a BPE model with a ByteLevel
//    pre-tokenizer. Both store the merges, so these copy across unchanged;
//    the pre-tokenizer, which GGUF only names (tokenizer.ggml.pre), is
//    written as the Split regexes the name stands for and recognised from
//    them on the way back (bpe_pre_json.h).
//
// For SentencePiece the two segmentations agree because of how the merges are derived: the
// GGUF algorithm repeatedly merges the adjacent pair whose concatenation is
// the vocabulary piece of highest score; tokenizer.json's BPE merges the
// adjacent pair of lowest merge rank. Listing every split of every piece p
// into two vocabulary pieces (l, r) as a merge "l r", ordered by p's score
// from high to low, makes "lowest rank" pick the same pair as "highest
// score". (Distinct pieces of exactly equal score are the one case where the
// tie-break may differ; SentencePiece BPE vocabularies have distinct scores.)
// The way back gives each piece the score −(rank of its first merge).
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "io/gguf.h"

namespace peft {

struct HfTokenizerFiles {
  std::string tokenizer_json;         // tokenizer.json text
  std::string tokenizer_config_json;  // tokenizer_config.json text
};

// From a GGUF file with a "llama" or byte-level "gpt2" vocabulary. Returns false and sets
// *why_not for vocabularies this cannot express (other tokenizer models, no
// vocabulary); throws "[tokenizer] <path>: ..." for an inconsistent one.
bool gguf_vocab_to_tokenizer_json(const GgufFile& f, HfTokenizerFiles* out, std::string* why_not);

// From a Hugging Face directory's tokenizer.json (and tokenizer_config.json
// when present): the tokenizer.ggml.* keys of an equivalent "llama"
// or "gpt2" vocabulary. Returns false and sets *why_not when the tokenizer is
// neither of the two kinds above (e.g. WordPiece, Unigram, a byte-level BPE
// whose pre-tokenizer llama.cpp has no name for) or the directory has none; throws "[tokenizer] <path>: ..." for a malformed file.
bool tokenizer_json_to_gguf_vocab(const std::string& dir, std::vector<std::pair<std::string, GgufValue>>* keys,
                                  std::string* why_not);

}  // namespace peft
