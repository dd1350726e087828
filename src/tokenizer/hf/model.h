// The model stage of tokenizer.json: turns one pre-tokenized piece into
// token ids. BPE (bpe_model.cpp), WordPiece (wordpiece_model.cpp) and
// Unigram (unigram_model.cpp), WordLevel (wordlevel_model.cpp); make_model picks one from the "model" object.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/hf/json_util.h"

namespace peft::hf {

class Model {
 public:
  virtual ~Model() = default;
  // Appends the ids of `piece` (non-empty) to `out`; when `lens` is given,
  // also the length in bytes of `piece` each token covers (they add up to
  // the piece; a byte-fallback token covers one byte). Must be thread-safe.
  virtual void tokenize(std::string_view piece, std::vector<int32_t>& out, std::vector<uint32_t>* lens) const = 0;
  void tokenize(std::string_view piece, std::vector<int32_t>& out) const { tokenize(piece, out, nullptr); }
  // -1 when absent.
  virtual int32_t token_to_id(std::string_view token) const = 0;
  // nullptr when the id names no token of the model.
  virtual const std::string* id_to_token(int32_t id) const = 0;
  // One more than the largest id.
  virtual int32_t size() const = 0;
  virtual std::string kind() const = 0;  // "BPE", "WordPiece", "Unigram"
};

// Throws FormatError on a missing or malformed model.
std::unique_ptr<Model> make_model(const Json& j);

std::unique_ptr<Model> make_bpe_model(const Json& j);
std::unique_ptr<Model> make_wordpiece_model(const Json& j);
std::unique_ptr<Model> make_unigram_model(const Json& j);
std::unique_ptr<Model> make_wordlevel_model(const Json& j);

}  // namespace peft::hf
