// The pre-tokenizers of byte-level BPE vocabularies, as GGUF names them.
//
// A GGUF file with tokenizer.ggml.model = "gpt2" stores the tokens and the
// merges but only the *name* of the pre-tokenizer (tokenizer.ggml.pre:
// "llama-bpe", "qwen2", "deepseek-coder", ...). What each name stands for is
// defined by llama.cpp's vocabulary code; this is our table of it, as data:
// for each name, the split regexes and the few flags that change how a word
// is encoded. One mechanism runs every entry (BpeTokenizer): the regexes
// are applied in order, each cutting every piece the previous one left into
// its matches and the stretches between them (Hugging Face's Split with
// behavior "Isolated"); each final piece is byte-mapped and merged.
//
// The regexes are written as the models' own tokenizer.json files write
// them (Oniguruma syntax, which Hugging Face tokenizers runs), with every
// non-ASCII character spelled \x{...}; to_pcre2() makes them PCRE2 patterns
// with the same meaning. Where llama.cpp runs a hand-adapted variant of the
// original pattern (its std::regex lacks \p{Lu}, (?i:...) and possessive
// quantifiers), the original is kept: PCRE2 has all three, and the original
// is what produced the reference token ids.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace peft {

struct BpePreTokenizer {
  std::string name;                  // canonical tokenizer.ggml.pre value
  std::vector<std::string> aliases;  // other values llama.cpp reads the same way
  std::vector<std::string> regexes;  // applied in order, Oniguruma spelling
  // A word that is itself a vocabulary token becomes that token without
  // merging (tokenizer.json's BPE "ignore_merges"; Llama 3, Tekken).
  bool ignore_merges = false;
  // llama.cpp's add_bos when the file has no tokenizer.ggml.add_bos_token.
  bool add_bos = false;
  // llama.cpp's clean_up_tokenization_spaces for this name (decoding only).
  bool clean_spaces = true;
};

// The entry for a tokenizer.ggml.pre value (canonical name or alias);
// nullptr when llama.cpp defines no byte-level pre-tokenizer of that name.
const BpePreTokenizer* find_bpe_pre_tokenizer(std::string_view name);

// Every entry, in table order (the first of several equal entries is the
// one recognise_bpe_pre_tokenizer names).
const std::vector<BpePreTokenizer>& bpe_pre_tokenizers();

// Names llama.cpp knows that are not byte-level BPE pre-tokenizers we can
// run (SentencePiece-style BPE over raw UTF-8, custom splitters); the
// loader names them in its refusal.
bool is_unsupported_llama_cpp_pre(std::string_view name);

// The entry whose regex list and ignore_merges equal these (spelling
// differences such as literal vs \x{...} characters, or llama.cpp's
// adapted contraction group, do not count); nullptr when none does.
const BpePreTokenizer* recognise_bpe_pre_tokenizer(const std::vector<std::string>& regexes, bool ignore_merges);

// The same pattern in the spelling compared by recognise_...: non-ASCII
// characters as \x{hex}, known equivalent spellings replaced.
std::string canonical_regex(std::string_view pattern);

// An Oniguruma pattern as a PCRE2 (UTF + UCP) pattern that matches the same:
// PCRE2's \s leaves out U+0085, which Oniguruma and llama.cpp count as
// white space, so \s and \S are widened to include it.
std::string to_pcre2(std::string_view pattern);

}  // namespace peft
