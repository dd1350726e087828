// GPT-2's reversible byte <-> character mapping for byte-level BPE: each of
// the 256 byte values is shown as one printable Unicode character, so a
// vocabulary of byte strings can be stored as text. The printable bytes
// '!'..'~', 0xA1..0xAC and 0xAE..0xFF stand for themselves (as code points);
// the remaining 68 get U+0100, U+0101, ... in increasing byte order (so the
// space 0x20 becomes U+0120 "Ġ").
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace peft {

// Appends the UTF-8 of the character for each byte of `bytes`.
std::string bytes_to_unicode(std::string_view bytes);

// The inverse, character by character; characters outside the table are
// kept as their own UTF-8 (so text that was never byte-mapped survives).
std::string unicode_to_bytes(std::string_view text);

}  // namespace peft
