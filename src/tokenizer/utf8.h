// Small UTF-8 helpers shared by the tokenizers. None of them validates: bad
// input is carried through byte by byte, never read past its end.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace peft {

// Length of the sequence a lead byte announces, from its high nibble:
// 0xxx -> 1, 110x -> 2, 1110 -> 3, 1111 -> 4. A stray continuation byte
// (10xx) counts as a sequence of one, so every byte starts some "character".
inline size_t utf8_seq_len(uint8_t lead) {
  static constexpr uint8_t kLen[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return kLen[lead >> 4];
}

// Length of the longest prefix of `s` that does not end inside a multi-byte
// sequence that later bytes could still complete: only a lead byte in the
// last three positions whose announced length runs past the end is cut.
size_t utf8_complete_prefix(std::string_view s);

// Appends the UTF-8 encoding of a code point (U+0000..U+10FFFF).
void utf8_append(std::string& out, uint32_t cp);

// Decodes the code point at s[i], advancing i. Malformed input yields the
// byte's own value (as Latin-1) and advances one byte.
uint32_t utf8_next(std::string_view s, size_t& i);

}  // namespace peft
