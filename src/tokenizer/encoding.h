// What an encoder model takes as input: token ids with their type ids,
// attention mask, special-tokens mask and offsets, for one text or a pair
// of texts, truncated and padded. The semantics are those of Hugging Face
// tokenizers' Encoding (TruncationParams, PaddingParams), which the tests
// check against that library.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace peft {

class Tokenizer;

// [begin, end) in bytes of the input text the token came from (the first
// or the second text of a pair, as sequence_ids says). Hugging Face's
// Python and JS bindings report the same spans in characters (Unicode code
// points); char_offsets() converts. Special and padding tokens get {0, 0}.
struct TokenOffset {
  size_t begin = 0;
  size_t end = 0;
  bool operator==(const TokenOffset&) const = default;
};

struct Encoding {
  std::vector<int32_t> ids;
  std::vector<int32_t> type_ids;             // token_type_ids
  std::vector<uint8_t> attention_mask;       // 1 = real token, 0 = padding
  std::vector<uint8_t> special_tokens_mask;  // 1 = added by the post-processor or padding
  std::vector<TokenOffset> offsets;
  std::vector<int32_t> sequence_ids;  // 0 or 1 for tokens of the texts, -1 for special and padding tokens

  size_t size() const { return ids.size(); }
  // Special tokens as an encoding of their own: the given type id, masked as
  // special, no offsets, outside both texts (sequence id -1).
  static Encoding special_run(const std::vector<int32_t>& ids, int32_t type_id);
  // Appends the tokens of `other`.
  void append(const Encoding& other);
  // Keeps the first (from_left = false) or last `n` tokens.
  void truncate(size_t n, bool from_left);
};

enum class TruncationStrategy { kLongestFirst, kOnlyFirst, kOnlySecond };
enum class Side { kLeft, kRight };

struct Truncation {
  size_t max_length = 512;  // counts the special tokens the post-processor adds
  TruncationStrategy strategy = TruncationStrategy::kLongestFirst;
  // Overlap between consecutive overflowing windows. Overflowing windows are
  // not produced here, so this only has to be smaller than what is left of
  // max_length after the special tokens (as Hugging Face requires).
  size_t stride = 0;
  Side direction = Side::kRight;  // kRight drops tokens at the end, kLeft at the start
};

struct Padding {
  // Fixed length (`length` set) or the longest encoding of the batch.
  std::optional<size_t> length;
  size_t multiple_of = 0;  // 0 or 1: none
  int32_t pad_id = 0;
  int32_t pad_type_id = 0;
  std::string pad_token = "[PAD]";
  Side direction = Side::kRight;
};

// Parses "longest_first" / "only_first" / "only_second" and "left" / "right"
// (also Hugging Face's JSON spellings "LongestFirst", "Left", ...); throws
// InputError "[tokenizer] ..." otherwise.
TruncationStrategy parse_truncation_strategy(std::string_view s);
Side parse_side(std::string_view s);

struct EncodeOptions {
  bool add_special = true;
  // Match special added tokens ("[SEP]", "<|endoftext|>") in the text as
  // plain text instead of emitting their ids (HF's encode_special_tokens).
  bool encode_special_tokens = false;
  // Compute offsets (else all {0, 0}: a little faster, for callers that
  // only need ids, type ids and masks).
  bool offsets = true;
  // nullopt: what the tokenizer itself is configured with (tokenizer.json's
  // "truncation" / "padding" sections); set `use_file_*` false to ignore
  // those and leave the step out.
  std::optional<Truncation> truncation;
  std::optional<Padding> padding;
  bool use_file_truncation = true;
  bool use_file_padding = true;
};

// Encodes a text, or a pair when `pair` is given: tokens of each text
// (offsets included), truncation, the post-processor's template (special
// tokens and type ids), padding. Throws InputError "[tokenizer] ..." when
// the truncation cannot be met (max_length below the special tokens, or the
// only text it may cut is too short).
Encoding encode(const Tokenizer& tok, std::string_view text, std::optional<std::string_view> pair,
                const EncodeOptions& opts = {});

// Encodes each text (with pairs[i] when `pairs` is non-null; same size) and
// pads them together: to the longest of the batch unless a fixed length is
// configured.
std::vector<Encoding> encode_batch(const Tokenizer& tok, const std::vector<std::string>& texts,
                                   const std::vector<std::string>* pairs, const EncodeOptions& opts = {});

// The truncation / padding steps on their own.
void truncate_encodings(Encoding& a, Encoding* b, const Truncation& t);
void pad_encodings(std::vector<Encoding>& batch, const Padding& p);

// Byte offsets into `text` as code-point offsets, as the Python and JS
// bindings of Hugging Face tokenizers report them.
std::vector<TokenOffset> char_offsets(std::string_view text, const std::vector<TokenOffset>& byte_offsets);

}  // namespace peft
