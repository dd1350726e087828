// Normalizers of tokenizer.json: they rewrite the text of each piece between
// added tokens before pre-tokenization (NFC, lowercase, BERT cleaning, the
// "▁" of SentencePiece-style BPE, ...).
#pragma once
#include <memory>
#include <string>

#include <vector>

#include "tokenizer/hf/json_util.h"
#include "tokenizer/hf/regex.h"

namespace peft::hf {

// A normalized text and, for each of its bytes, the span of the original
// text it stands for (a whole character: every byte of a character carries
// the character's span, as in HF's NormalizedString).
struct AlignedText {
  std::string text;
  std::vector<Span> align;
};

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual void normalize(std::string& text) const = 0;
  // The same rewrite keeping the alignment. The default serves normalizers
  // that rewrite each character on its own (lowercase, NFD, BERT cleaning,
  // ...): what a character becomes points back to it, and a dropped
  // character leaves nothing. When the text normalized whole differs from
  // the characters normalized one by one (NFC composing, context), the text
  // is still the exact whole-text result and every byte points to the
  // whole span (offsets are then coarse; see docs).
  virtual void normalize_aligned(AlignedText& t) const;
};

// From the "normalizer" object; null gives nullptr. Throws FormatError for
// unknown types or bad fields.
std::unique_ptr<Normalizer> make_normalizer(const Json& j);

// SentencePiece's precompiled character map (normalizer type "Precompiled",
// field "precompiled_charsmap", base64), in precompiled.cpp.
std::unique_ptr<Normalizer> make_precompiled(const Json& j);

}  // namespace peft::hf
