// K-quant dequantization (Q4_K, Q5_K, Q6_K), the block formats llama.cpp
// uses for most published GGUF models.
//
// Every K-quant block ("super-block") covers 256 values, split into
// sub-blocks that each carry their own small integer scale; the block stores
// one or two f16 factors that turn those integer scales into real ones.
//
// Q4_K (144 bytes): f16 d, f16 dmin, 12 bytes of packed 6-bit (scale, min)
//   pairs for 8 sub-blocks of 32, then 128 bytes of 4-bit quants.
//   x = d·sc_j·q − dmin·m_j, with q in [0, 15].
// Q5_K (176 bytes): as Q4_K, plus 32 bytes holding a fifth (high) bit per
//   value placed between the scales and the low nibbles; q in [0, 31].
// Q6_K (210 bytes): 128 bytes of low nibbles, 64 bytes of 2-bit high parts,
//   16 int8 scales (one per sub-block of 16), then f16 d.
//   x = d·sc_j·(q − 32), with q in [0, 63].
//
// Within a block the quants are not stored in value order; the loops below
// spell out where value i of the block comes from.
#include <cstdint>
#include <cstring>

#include "core/dtype.h"
#include "core/kquant_scales.h"

namespace peft {

namespace {

float load_f16(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return f16_to_f32(h);
}

}  // namespace

void dequant_q4_k(const uint8_t* src, float* dst, int64_t nblocks) {
  for (int64_t b = 0; b < nblocks; ++b, src += 144, dst += 256) {
    const float d = load_f16(src);
    const float dmin = load_f16(src + 2);
    const uint8_t* scales = src + 4;
    const uint8_t* qs = src + 16;
    // Values are grouped by 64: byte l of a 32-byte group gives value l
    // (low nibble, sub-block 2g) and value 32 + l (high nibble, sub-block 2g+1).
    for (int g = 0; g < 4; ++g) {
      int sc0, m0, sc1, m1;
      unpack_scale_min(scales, 2 * g, &sc0, &m0);
      unpack_scale_min(scales, 2 * g + 1, &sc1, &m1);
      const float d0 = d * sc0, o0 = dmin * m0;
      const float d1 = d * sc1, o1 = dmin * m1;
      const uint8_t* q = qs + 32 * g;
      float* y = dst + 64 * g;
      for (int l = 0; l < 32; ++l) {
        y[l] = d0 * (q[l] & 0x0f) - o0;
        y[l + 32] = d1 * (q[l] >> 4) - o1;
      }
    }
  }
}

void dequant_q5_k(const uint8_t* src, float* dst, int64_t nblocks) {
  for (int64_t b = 0; b < nblocks; ++b, src += 176, dst += 256) {
    const float d = load_f16(src);
    const float dmin = load_f16(src + 2);
    const uint8_t* scales = src + 4;
    const uint8_t* qh = src + 16;  // bit k of byte l: high bit of value 32k + l
    const uint8_t* qs = src + 48;
    for (int g = 0; g < 4; ++g) {
      int sc0, m0, sc1, m1;
      unpack_scale_min(scales, 2 * g, &sc0, &m0);
      unpack_scale_min(scales, 2 * g + 1, &sc1, &m1);
      const float d0 = d * sc0, o0 = dmin * m0;
      const float d1 = d * sc1, o1 = dmin * m1;
      const uint8_t* q = qs + 32 * g;
      float* y = dst + 64 * g;
      for (int l = 0; l < 32; ++l) {
        int lo = (q[l] & 0x0f) | (((qh[l] >> (2 * g)) & 1) << 4);
        int hi = (q[l] >> 4) | (((qh[l] >> (2 * g + 1)) & 1) << 4);
        y[l] = d0 * lo - o0;
        y[l + 32] = d1 * hi - o1;
      }
    }
  }
}

void dequant_q6_k(const uint8_t* src, float* dst, int64_t nblocks) {
  for (int64_t b = 0; b < nblocks; ++b, src += 210, dst += 256) {
    const float d = load_f16(src + 208);
    const int8_t* scales = reinterpret_cast<const int8_t*>(src + 192);
    // Two halves of 128 values. In half h, byte l (l < 32) of the low-bit
    // area gives values l (low nibble) and 64 + l (high nibble); byte 32 + l
    // gives values 32 + l and 96 + l. Byte l of the high-bit area holds the
    // top 2 bits of values l, 32 + l, 64 + l, 96 + l in bit pairs 0..3.
    for (int h = 0; h < 2; ++h) {
      const uint8_t* ql = src + 64 * h;
      const uint8_t* qh = src + 128 + 32 * h;
      const int8_t* sc = scales + 8 * h;  // one scale per 16 values
      float* y = dst + 128 * h;
      for (int l = 0; l < 32; ++l) {
        int q0 = ((ql[l] & 0x0f) | (((qh[l] >> 0) & 3) << 4)) - 32;
        int q1 = ((ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4)) - 32;
        int q2 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        int q3 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        int s = l / 16;
        y[l] = d * sc[s] * q0;
        y[l + 32] = d * sc[s + 2] * q1;
        y[l + 64] = d * sc[s + 4] * q2;
        y[l + 96] = d * sc[s + 6] * q3;
      }
    }
  }
}

}  // namespace peft
