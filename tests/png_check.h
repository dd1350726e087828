// PNG checks for the tests that render pages in headless Chromium: a
// minimal reader for what Chromium writes, and a look at whether the image
// shows anything (a blank page is one colour).
#pragma once
#include <zlib.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace peft::test {

struct Image {
  int64_t w = 0, h = 0;
  int channels = 0;
  std::vector<uint8_t> px;  // rows of w * channels bytes
};

inline uint32_t be32(const uint8_t* p) { return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3]; }

// A minimal PNG reader for what Chromium writes: 8-bit RGB or RGBA, not
// interlaced. IDAT chunks are joined and inflated, then each row is
// unfiltered (PNG filters 0-4: none, sub, up, average, Paeth).
inline Image read_png(const std::string& bytes) {
  Image im;
  const auto* b = reinterpret_cast<const uint8_t*>(bytes.data());
  if (bytes.size() < 8 || std::memcmp(b, "\x89PNG\r\n\x1a\n", 8) != 0) throw std::runtime_error("not a PNG");
  std::string idat;
  int depth = 0, type = 0, interlace = 0;
  for (size_t p = 8; p + 12 <= bytes.size();) {
    const uint32_t len = be32(b + p);
    const std::string kind(bytes.data() + p + 4, 4);
    const uint8_t* d = b + p + 8;
    if (kind == "IHDR") {
      im.w = be32(d);
      im.h = be32(d + 4);
      depth = d[8];
      type = d[9];
      interlace = d[12];
    } else if (kind == "IDAT") {
      idat.append(reinterpret_cast<const char*>(d), len);
    }
    p += 12 + len;
  }
  if (depth != 8 || (type != 2 && type != 6) || interlace != 0) throw std::runtime_error("unexpected PNG format");
  im.channels = type == 6 ? 4 : 3;
  const size_t stride = static_cast<size_t>(im.w) * im.channels;
  std::vector<uint8_t> raw((stride + 1) * static_cast<size_t>(im.h));
  uLongf n = raw.size();
  if (uncompress(raw.data(), &n, reinterpret_cast<const Bytef*>(idat.data()), idat.size()) != Z_OK || n != raw.size())
    throw std::runtime_error("bad PNG data");
  im.px.resize(stride * static_cast<size_t>(im.h));
  const int bpp = im.channels;
  for (int64_t y = 0; y < im.h; ++y) {
    const uint8_t f = raw[y * (stride + 1)];
    const uint8_t* in = &raw[y * (stride + 1) + 1];
    uint8_t* out = &im.px[y * stride];
    const uint8_t* up = y > 0 ? &im.px[(y - 1) * stride] : nullptr;
    for (size_t x = 0; x < stride; ++x) {
      const int a = x >= static_cast<size_t>(bpp) ? out[x - bpp] : 0;
      const int u = up ? up[x] : 0;
      const int c = (up && x >= static_cast<size_t>(bpp)) ? up[x - bpp] : 0;
      int pred = 0;
      switch (f) {
        case 0: pred = 0; break;
        case 1: pred = a; break;
        case 2: pred = u; break;
        case 3: pred = (a + u) / 2; break;
        case 4: {
          const int p = a + u - c, pa = std::abs(p - a), pb = std::abs(p - u), pc = std::abs(p - c);
          pred = (pa <= pb && pa <= pc) ? a : (pb <= pc ? u : c);
          break;
        }
        default: throw std::runtime_error("bad PNG filter");
      }
      out[x] = static_cast<uint8_t>(in[x] + pred);
    }
  }
  return im;
}

struct Look {
  size_t colours = 0;     // distinct RGB values
  double not_background = 0;  // share of pixels unlike the top-left one
};

inline Look look(const Image& im) {
  std::set<uint32_t> cs;
  int64_t differ = 0;
  const uint8_t* bg = im.px.data();
  for (int64_t i = 0; i < im.w * im.h; ++i) {
    const uint8_t* p = &im.px[i * im.channels];
    cs.insert((uint32_t(p[0]) << 16) | (uint32_t(p[1]) << 8) | p[2]);
    differ += p[0] != bg[0] || p[1] != bg[1] || p[2] != bg[2];
  }
  return {cs.size(), static_cast<double>(differ) / static_cast<double>(im.w * im.h)};
}

}  // namespace peft::test
