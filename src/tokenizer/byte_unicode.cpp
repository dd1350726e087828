#include "tokenizer/byte_unicode.h"

#include <array>

#include "tokenizer/utf8.h"

namespace peft {

namespace {

struct ByteTables {
  std::array<uint32_t, 256> to_cp{};
  std::array<int16_t, 512> from_cp{};  // every mapped code point is < 0x144

  ByteTables() {
    from_cp.fill(-1);
    uint32_t next = 0x100;
    for (uint32_t b = 0; b < 256; ++b) {
      bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      to_cp[b] = printable ? b : next++;
      from_cp[to_cp[b]] = static_cast<int16_t>(b);
    }
  }
};

const ByteTables& tables() {
  static const ByteTables t;
  return t;
}

}  // namespace

std::string bytes_to_unicode(std::string_view bytes) {
  const ByteTables& t = tables();
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) utf8_append(out, t.to_cp[static_cast<uint8_t>(c)]);
  return out;
}

std::string unicode_to_bytes(std::string_view text) {
  const ByteTables& t = tables();
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    size_t start = i;
    uint32_t cp = utf8_next(text, i);
    int b = cp < t.from_cp.size() ? t.from_cp[cp] : -1;
    // A malformed byte decodes as itself (< 0x100) yet was not a mapped
    // character: keep the original bytes then.
    bool well_formed = cp >= 0x80 ? i - start > 1 : true;
    if (b >= 0 && well_formed)
      out += static_cast<char>(b);
    else
      out.append(text.substr(start, i - start));
  }
  return out;
}

}  // namespace peft
