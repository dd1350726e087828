// Token types as GGUF stores them in tokenizer.ggml.token_type (the values
// of SentencePiece's ModelProto piece types plus llama.cpp's "byte").
#pragma once
#include <cstdint>

namespace peft {

enum class TokenType : int32_t {
  Normal = 1,
  Unknown = 2,
  Control = 3,
  UserDefined = 4,
  Unused = 5,
  Byte = 6,
};

// Values outside 1..6 (some converters write 0) read as Normal.
inline TokenType token_type_from_int(int64_t v) {
  return v >= 1 && v <= 6 ? static_cast<TokenType>(v) : TokenType::Normal;
}

}  // namespace peft
