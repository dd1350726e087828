// The tokenizer interface every model uses. Implementations: SentencePiece-
// style BPE from GGUF metadata (tokenizer.ggml.model = llama), and later the
// general tokenizer.json pipeline and the other GGUF vocabularies.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/encoding.h"

namespace peft {

class GgufFile;

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // add_special: add what the tokenizer adds around a text (BOS for Llama;
  // CLS/SEP for BERT), as its own configuration says.
  virtual std::vector<int32_t> encode(std::string_view text, bool add_special) const = 0;
  // Decodes ids to text (special tokens skipped when skip_special).
  virtual std::string decode(const std::vector<int32_t>& ids, bool skip_special = true) const = 0;

  virtual int32_t vocab_size() const = 0;
  virtual int32_t bos_id() const = 0;  // -1 when none
  virtual int32_t eos_id() const = 0;  // -1 when none
  // Whether encode(text, true) prepends BOS.
  virtual bool adds_bos() const = 0;
  // The vocabulary entry of a token (e.g. "▁Once", "<0x0A>").
  virtual std::string token_text(int32_t id) const = 0;
  virtual bool is_special(int32_t id) const = 0;
  // One line for `peft info`: "llama (SentencePiece BPE), 512 tokens, bos 1, eos 2".
  virtual std::string summary() const = 0;

  // The pieces of encode() for pairs, truncation and padding (see
  // encoding.h, which puts them together).
  // The tokens of one text without special tokens, with byte offsets into
  // `text` when `offsets` (else {0, 0}, which saves the alignment work);
  // type_ids 0, sequence_ids 0. The default has no offsets and ignores
  // encode_special_tokens.
  virtual Encoding encode_text(std::string_view text, bool encode_special_tokens, bool offsets) const;
  // How many tokens post_process adds with add_special.
  virtual size_t num_special_tokens(bool pair) const;
  // Adds the special tokens around one text or a pair and sets type ids and
  // sequence ids. The default puts what encode(text, true) adds around each
  // text (a pair: prefix A suffix B suffix, or prefix A prefix B when
  // nothing follows a text), with type id 1 on the second text's part.
  virtual Encoding post_process(Encoding a, std::optional<Encoding> b, bool add_special) const;
  // What the tokenizer's own configuration asks for (tokenizer.json's
  // "truncation" and "padding"); none by default.
  virtual std::optional<Truncation> configured_truncation() const { return std::nullopt; }
  virtual std::optional<Padding> configured_padding() const { return std::nullopt; }
  // Whether encode_text reports offsets (tokenizer.json does; GGUF
  // vocabularies do not yet).
  virtual bool has_offsets() const { return false; }
};

// Streams generated text: push ids one at a time and get the text that is now
// complete (bytes of a multi-byte character split over several byte-fallback
// tokens are held back until the character is whole; the leading space that
// SentencePiece adds is dropped at the very start).
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tok) : tok_(tok) {}
  std::string push(int32_t id);
  std::string flush();  // whatever is left (incomplete UTF-8 as is)

 private:
  const Tokenizer& tok_;
  std::vector<int32_t> ids_;
  size_t emitted_ = 0;  // bytes of decode(ids_) already returned
};

// From a GGUF file's tokenizer.ggml.* metadata. Throws "[tokenizer] ..." for
// vocabularies it cannot read.
std::unique_ptr<Tokenizer> load_gguf_tokenizer(const GgufFile& file);

}  // namespace peft
