#include "tokenizer/hf/byte_level.h"

#include <array>

#include "tokenizer/hf/unicode.h"

namespace peft::hf {

namespace {

struct ByteTable {
  std::array<std::string, 256> to_char;
  std::array<int, 512> from_cp;  // code point (< 512) -> byte, or -1

  ByteTable() {
    from_cp.fill(-1);
    int extra = 0;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      const uint32_t cp = printable ? static_cast<uint32_t>(b) : static_cast<uint32_t>(256 + extra++);
      append_cp(to_char[b], cp);
      from_cp[cp] = b;
    }
  }
};

const ByteTable& table() {
  static const ByteTable t;
  return t;
}

}  // namespace

const std::string& byte_to_char(uint8_t b) { return table().to_char[b]; }

std::string bytes_to_chars(std::string_view s) {
  const ByteTable& t = table();
  std::string out;
  out.reserve(s.size() * 2);
  for (char c : s) out += t.to_char[static_cast<uint8_t>(c)];
  return out;
}

bool chars_to_bytes(std::string_view s, std::string& out) {
  const ByteTable& t = table();
  size_t i = 0;
  while (i < s.size()) {
    const uint32_t cp = next_cp(s, i);
    if (cp >= 512 || t.from_cp[cp] < 0) return false;
    out.push_back(static_cast<char>(t.from_cp[cp]));
  }
  return true;
}

}  // namespace peft::hf
