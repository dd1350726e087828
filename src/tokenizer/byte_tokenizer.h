// The simplest tokenizer: one token per byte (ids 0-255), then BOS (256) and
// EOS (257). Used by models built from scratch (the demo, tests) where no
// vocabulary file exists.
#pragma once
#include "tokenizer/tokenizer.h"

namespace peft {

class ByteTokenizer : public Tokenizer {
 public:
  static constexpr int32_t kBos = 256;
  static constexpr int32_t kEos = 257;
  std::vector<int32_t> encode(std::string_view text, bool add_special) const override;
  std::string decode(const std::vector<int32_t>& ids, bool skip_special = true) const override;
  int32_t vocab_size() const override { return 258; }
  int32_t bos_id() const override { return kBos; }
  int32_t eos_id() const override { return kEos; }
  bool adds_bos() const override { return true; }
  std::string token_text(int32_t id) const override;
  bool is_special(int32_t id) const override { return id >= 256; }
  std::string summary() const override { return "bytes, 258 tokens, bos 256, eos 257"; }
};

}  // namespace peft
