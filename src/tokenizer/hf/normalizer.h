// Normalizers of tokenizer.json: they rewrite the text of each piece between
// added tokens before pre-tokenization (NFC, lowercase, BERT cleaning, the
// "▁" of SentencePiece-style BPE, ...).
#pragma once
#include <memory>
#include <string>

#include "tokenizer/hf/json_util.h"

namespace peft::hf {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual void normalize(std::string& text) const = 0;
};

// From the "normalizer" object; null gives nullptr. Throws FormatError for
// unknown types or bad fields.
std::unique_ptr<Normalizer> make_normalizer(const Json& j);

// SentencePiece's precompiled character map (normalizer type "Precompiled",
// field "precompiled_charsmap", base64), in precompiled.cpp.
std::unique_ptr<Normalizer> make_precompiled(const Json& j);

}  // namespace peft::hf
