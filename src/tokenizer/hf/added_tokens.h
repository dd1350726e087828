// Added tokens of tokenizer.json ("added_tokens"): strings matched in the
// text before the model runs, leftmost-longest, and emitted as their own id.
// Tokens with normalized = false are matched in the raw text; those with
// normalized = true in each remaining piece after normalization (their
// content normalized the same way). lstrip / rstrip swallow whitespace to
// the left / right; single_word only matches outside a word.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/hf/byte_trie.h"
#include "tokenizer/hf/json_util.h"

namespace peft::hf {

class Normalizer;

struct AddedToken {
  int32_t id = -1;
  std::string content;
  bool special = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = false;
  bool single_word = false;
};

// A stretch of text: an added token (id >= 0) or plain text (id = -1).
struct Segment {
  size_t begin = 0;
  size_t end = 0;
  int32_t id = -1;
};

class AddedVocab {
 public:
  // From the "added_tokens" array; the normalizer (may be null) prepares
  // the contents of normalized tokens for matching. model_id(content) gives
  // the model's own id for a content (-1 if none): as in HF, that id wins
  // over the one the file states.
  void load(const Json& j, const Normalizer* normalizer, const std::function<int32_t(std::string_view)>& model_id);

  // Cuts `text` into segments with the raw (normalized = false) or the
  // normalized token set; empty gaps are left out. skip_special: special
  // tokens are not matched (they stay plain text), as HF does under
  // encode_special_tokens.
  std::vector<Segment> split(std::string_view text, bool normalized_set, bool skip_special = false) const;

  const AddedToken* by_id(int32_t id) const {
    auto it = by_id_.find(id);
    return it == by_id_.end() ? nullptr : &tokens_[it->second];
  }
  int32_t find(std::string_view content) const;
  int32_t max_id() const { return max_id_; }
  const std::vector<AddedToken>& tokens() const { return tokens_; }

 private:
  std::vector<AddedToken> tokens_;
  std::unordered_map<int32_t, size_t> by_id_;  // id -> index in tokens_
  ByteTrie raw_;                               // values: index in tokens_
  ByteTrie normed_;
  int32_t max_id_ = -1;
};

}  // namespace peft::hf
