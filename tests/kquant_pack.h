// Test-side encoders for ggml's K-quant blocks: they place given integer
// scales, mins and quants into the byte layout, written from the format's
// description independently of the decoders in src/core/dtype_kquants.cpp,
// so tests can build blocks whose decoded values they know exactly.
//   Q4_K / Q5_K: x_i = d·sc[i/32]·q_i − dmin·mn[i/32]  (q < 16 / q < 32)
//   Q6_K:        x_i = d·sc[i/16]·(q_i − 32)            (q < 64)
#pragma once
#include <cstdint>
#include <cstring>
#include <vector>

#include "core/dtype.h"

namespace peft::test {

// The 12-byte scale field: entries 0..3 in the low 6 bits of bytes 0..3
// (scale) and 4..7 (min); entries 4..7 as a low nibble in bytes 8..11 (scale
// low, min high) and 2 high bits in the top bits of bytes 0..3 / 4..7.
inline void pack_k_scales(const int sc[8], const int mn[8], uint8_t out[12]) {
  for (int j = 0; j < 4; ++j) {
    out[j] = static_cast<uint8_t>(sc[j] | ((sc[j + 4] >> 4) << 6));
    out[j + 4] = static_cast<uint8_t>(mn[j] | ((mn[j + 4] >> 4) << 6));
    out[j + 8] = static_cast<uint8_t>((sc[j + 4] & 15) | ((mn[j + 4] & 15) << 4));
  }
}

// Value i lives in 64-value group g = i / 64: byte 32g + i % 32, low nibble
// for the first 32 values of the group, high nibble for the second 32.
inline void pack_k_nibbles(const int q[256], uint8_t out[128]) {
  std::memset(out, 0, 128);
  for (int i = 0; i < 256; ++i) {
    int g = i / 64, l = i % 64;
    out[32 * g + l % 32] |= static_cast<uint8_t>((q[i] & 15) << (l < 32 ? 0 : 4));
  }
}

inline void put_f16(float x, uint8_t* out) {
  uint16_t h = f32_to_f16(x);
  std::memcpy(out, &h, 2);
}

// 144 bytes: f16 d, f16 dmin, scales[12], nibbles[128].
inline std::vector<uint8_t> pack_q4_k(float d, float dmin, const int sc[8], const int mn[8], const int q[256]) {
  std::vector<uint8_t> b(144, 0);
  put_f16(d, b.data());
  put_f16(dmin, b.data() + 2);
  pack_k_scales(sc, mn, b.data() + 4);
  pack_k_nibbles(q, b.data() + 16);
  return b;
}

// 176 bytes: as Q4_K with 32 bytes of fifth bits before the nibbles; the
// fifth bit of value i is bit i / 32 of byte i % 32.
inline std::vector<uint8_t> pack_q5_k(float d, float dmin, const int sc[8], const int mn[8], const int q[256]) {
  std::vector<uint8_t> b(176, 0);
  put_f16(d, b.data());
  put_f16(dmin, b.data() + 2);
  pack_k_scales(sc, mn, b.data() + 4);
  for (int i = 0; i < 256; ++i) b[16 + i % 32] |= static_cast<uint8_t>(((q[i] >> 4) & 1) << (i / 32));
  pack_k_nibbles(q, b.data() + 48);
  return b;
}

// 210 bytes: low nibbles[128], high 2-bit pairs[64], int8 scales[16], f16 d.
// Value i = 128h + 32k + l (h: half, k: quarter, l < 32): low 4 bits at byte
// 64h + l + 32·(k & 1), nibble k >> 1; high 2 bits at bits 2k, 2k+1 of byte
// 128 + 32h + l.
inline std::vector<uint8_t> pack_q6_k(float d, const int8_t sc[16], const int q[256]) {
  std::vector<uint8_t> b(210, 0);
  for (int i = 0; i < 256; ++i) {
    int h = i / 128, k = (i % 128) / 32, l = i % 32;
    b[64 * h + l + 32 * (k & 1)] |= static_cast<uint8_t>((q[i] & 15) << (4 * (k >> 1)));
    b[128 + 32 * h + l] |= static_cast<uint8_t>((q[i] >> 4) << (2 * k));
  }
  std::memcpy(b.data() + 192, sc, 16);
  put_f16(d, b.data() + 208);
  return b;
}

}  // namespace peft::test
