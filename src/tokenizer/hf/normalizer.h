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
  // that rewrite each character (with the marks that follow it) on its own:
  // lowercase, NFC/NFD/NFKC/NFKD, BERT cleaning, ... When the text
  // normalized whole differs from the clusters normalized one by one
  // (Hangul jamo composing, say), the text is still the exact whole-text
  // result and every byte points to the whole span (coarse offsets).
  virtual void normalize_aligned(AlignedText& t) const;
};

// From the "normalizer" object; null gives nullptr. Throws FormatError for
// unknown types or bad fields.
std::unique_ptr<Normalizer> make_normalizer(const Json& j);

// SentencePiece's precompiled character map (normalizer type "Precompiled",
// field "precompiled_charsmap", base64), in precompiled.cpp.
std::unique_ptr<Normalizer> make_precompiled(const Json& j);

}  // namespace peft::hf
