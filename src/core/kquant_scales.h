// The packed 6-bit scales and mins of Q4_K/Q5_K blocks, read by the
// dequantizer (dtype_kquants.cpp) and by the int8 dot products
// (ops/gemv_q8.cpp), inline because the latter unpack them for every 256
// weights of every row.
#pragma once
#include <cstdint>

namespace peft {

// The 12 scale bytes of Q4_K/Q5_K hold 8 six-bit scales and 8 six-bit mins.
// Sub-blocks 0..3: the low 6 bits of bytes 0..3 (scale) and 4..7 (min).
// Sub-blocks 4..7: low 4 bits in the low/high nibble of bytes 8..11 and the
// top 2 bits in the (otherwise unused) top 2 bits of bytes 0..3 (scale) and
// 4..7 (min).
inline void unpack_scale_min(const uint8_t* s, int j, int* scale, int* min) {
  if (j < 4) {
    *scale = s[j] & 0x3f;
    *min = s[j + 4] & 0x3f;
  } else {
    *scale = (s[j + 4] & 0x0f) | ((s[j - 4] >> 6) << 4);
    *min = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

}  // namespace peft
