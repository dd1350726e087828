// A GGUF byte-level pre-tokenizer (bpe_pre_tokenizer.h) as tokenizer.json
// writes one, and the way back: which GGUF name a tokenizer.json's
// pre_tokenizer is.
//
// Written: gpt-2 as the plain ByteLevel pre-tokenizer (its built-in regex is
// GPT-2's); every other name as a Sequence of one Split per regex (behavior
// "Isolated": matches and the text between them both become pieces, which is
// what llama.cpp does with each regex) and a ByteLevel that only maps bytes.
//
// Read: the pre_tokenizer is flattened into the list of regexes it runs
// (Split with an Isolated regex, ByteLevel's own GPT-2 regex when use_regex
// is set, Digits as \p{N} or \p{N}+, Punctuation as a class of Unicode and
// ASCII punctuation), and that list, with the model's ignore_merges, is
// looked up in the table. Anything else (a space prepended by ByteLevel,
// other Split behaviours, splitting on the byte-mapped text) has no GGUF
// name and is refused with the reason.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "tokenizer/bpe_pre_tokenizer.h"

namespace peft {

nlohmann::ordered_json bpe_pre_tokenizer_json(const BpePreTokenizer& pre);

// `pre`: the tokenizer.json "pre_tokenizer" value. nullptr and *why_not set
// when it is not a byte-level pre-tokenizer with a GGUF name.
const BpePreTokenizer* bpe_pre_tokenizer_from_json(const nlohmann::json& pre, bool ignore_merges, std::string* why_not);

}  // namespace peft
