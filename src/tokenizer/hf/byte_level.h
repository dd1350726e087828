// GPT-2's byte-to-character table: every byte value gets a printable
// character so that byte-level BPE vocabularies are plain strings. Bytes
// '!'..'~', 0xA1..0xAC and 0xAE..0xFF map to themselves; the other 68 map to
// U+0100, U+0101, ... in byte order.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace peft::hf {

// The UTF-8 text of the character standing for byte b.
const std::string& byte_to_char(uint8_t b);
// Every byte of `s` replaced by its character.
std::string bytes_to_chars(std::string_view s);
// The inverse: each character of `s` that stands for a byte becomes that
// byte. False (and `out` unspecified) when some character stands for no
// byte, as in an added token such as "<|endoftext|>" written with spaces.
bool chars_to_bytes(std::string_view s, std::string& out);

}  // namespace peft::hf
