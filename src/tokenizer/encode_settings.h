// EncodeOptions from settings given as text, the way a command line gives
// them (`peft tokenize --max-length 128 --truncation only_second ...`), so
// that every front end validates them the same way.
#pragma once
#include <string>

#include "tokenizer/encoding.h"

namespace peft {

// Empty strings: not given.
struct EncodeSettings {
  bool add_special = true;
  bool encode_special_tokens = false;
  std::string max_length;          // N
  std::string truncation;          // longest_first | only_first | only_second | none
  std::string stride;              // N
  std::string truncation_side;     // left | right
  std::string padding;             // none | longest | max_length | N
  std::string pad_to_multiple_of;  // N
  std::string padding_side;        // left | right
  std::string pad_id;              // N
};

// Starts from what the tokenizer's own file configures and applies the
// settings over it:
//  - truncation: any truncation setting turns it on; max_length comes from
//    max_length or the file; "none" turns the file's off.
//  - padding: "longest" pads to the longest in a batch, "max_length" to the
//    truncation's max_length, N to N tokens; "none" turns the file's off.
//    pad_id defaults to the file's, else 0 (as HF).
// Throws InputError "[tokenizer] ..." naming the bad value.
EncodeOptions make_encode_options(const EncodeSettings& s, const Tokenizer& tok);

}  // namespace peft
