#include "core/dtype.h"

#include <cmath>
#include <cstring>

#include "core/error.h"

namespace peft {

int64_t dtype_block_size(DType t) {
  switch (t) {
    case DType::Q8_0:
    case DType::Q4_0: return 32;
    case DType::Q4_K:
    case DType::Q5_K:
    case DType::Q6_K: return 256;
    default: return 1;
  }
}

int64_t dtype_block_bytes(DType t) {
  switch (t) {
    case DType::F32: return 4;
    case DType::F16: return 2;
    case DType::BF16: return 2;
    case DType::F64: return 8;
    case DType::I32: return 4;
    case DType::Q8_0: return 2 + 32;        // f16 scale, 32 int8
    case DType::Q4_0: return 2 + 16;        // f16 scale, 32 nibbles
    case DType::Q4_K: return 2 + 2 + 12 + 128;  // d, dmin, 8x(6-bit scale, 6-bit min), 256 nibbles
    case DType::Q5_K: return 2 + 2 + 12 + 32 + 128;  // as Q4_K plus 256 high bits
    case DType::Q6_K: return 128 + 64 + 16 + 2;      // low 4 bits, high 2 bits, 16 int8 scales, d
  }
  return 0;
}

int64_t dtype_bytes(DType t, int64_t n) {
  int64_t bs = dtype_block_size(t);
  PEFT_CHECK(n % bs == 0, "dtype", "element count not a multiple of the block size");
  return n / bs * dtype_block_bytes(t);
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "F32";
    case DType::F16: return "F16";
    case DType::BF16: return "BF16";
    case DType::F64: return "F64";
    case DType::I32: return "I32";
    case DType::Q8_0: return "Q8_0";
    case DType::Q4_0: return "Q4_0";
    case DType::Q4_K: return "Q4_K";
    case DType::Q5_K: return "Q5_K";
    case DType::Q6_K: return "Q6_K";
  }
  return "?";
}

bool dtype_is_quantized(DType t) { return dtype_block_size(t) > 1; }

float f16_to_f32(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ff;
  uint32_t u;
  if (exp == 0) {
    if (mant == 0) {
      u = sign;
    } else {  // subnormal: value = mant * 2^-24
      float f = std::ldexp(static_cast<float>(mant), -24);
      std::memcpy(&u, &f, 4);
      u |= sign;
    }
  } else if (exp == 31) {
    u = sign | 0x7f800000u | (mant << 13);
  } else {
    u = sign | ((exp + 112) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

uint16_t f32_to_f16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  uint16_t sign = static_cast<uint16_t>((u >> 16) & 0x8000);
  uint32_t absu = u & 0x7fffffff;
  if (absu >= 0x7f800000u) return sign | (absu > 0x7f800000u ? 0x7e00 : 0x7c00);
  if (absu >= 0x477ff000u) return sign | 0x7c00;  // rounds to >= 65520: inf
  if (absu < 0x38800000u) {                        // below the smallest normal: subnormal
    float a;
    std::memcpy(&a, &absu, 4);
    // value / 2^-24, rounded to nearest even by the FPU's default rounding.
    return sign | static_cast<uint16_t>(std::nearbyint(a * 16777216.0f));
  }
  uint32_t mant_round = absu + 0xfff + ((absu >> 13) & 1);  // round to nearest even
  return sign | static_cast<uint16_t>((mant_round - 0x38000000u) >> 13);
}

uint16_t f32_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffff) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);
  u += 0x7fff + ((u >> 16) & 1);
  return static_cast<uint16_t>(u >> 16);
}

// K-quant dequantization lives in dtype_kquants.cpp.
void dequant_q4_k(const uint8_t* src, float* dst, int64_t nblocks);
void dequant_q5_k(const uint8_t* src, float* dst, int64_t nblocks);
void dequant_q6_k(const uint8_t* src, float* dst, int64_t nblocks);
// ... and their encoding in dtype_kquantize.cpp.
void quant_q4_k(const float* src, uint8_t* dst, int64_t nblocks);
void quant_q5_k(const float* src, uint8_t* dst, int64_t nblocks);
void quant_q6_k(const float* src, uint8_t* dst, int64_t nblocks);

void to_f32(DType t, const void* src, float* dst, int64_t n) {
  const uint8_t* p = static_cast<const uint8_t*>(src);
  switch (t) {
    case DType::F32: std::memcpy(dst, src, n * 4); return;
    case DType::F64:
      for (int64_t i = 0; i < n; ++i) {
        double d;
        std::memcpy(&d, p + 8 * i, 8);
        dst[i] = static_cast<float>(d);
      }
      return;
    case DType::F16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, p + 2 * i, 2);
        dst[i] = f16_to_f32(h);
      }
      return;
    case DType::BF16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, p + 2 * i, 2);
        dst[i] = bf16_to_f32(h);
      }
      return;
    case DType::Q8_0:
      // block: f16 d, int8 q[32]; x = d * q
      for (int64_t b = 0; b < n / 32; ++b, p += 34) {
        uint16_t h;
        std::memcpy(&h, p, 2);
        float d = f16_to_f32(h);
        const int8_t* q = reinterpret_cast<const int8_t*>(p + 2);
        for (int i = 0; i < 32; ++i) dst[b * 32 + i] = d * q[i];
      }
      return;
    case DType::Q4_0:
      // block: f16 d, 16 bytes; byte j holds value j (low nibble) and j+16
      // (high nibble); x = d * (q - 8)
      for (int64_t b = 0; b < n / 32; ++b, p += 18) {
        uint16_t h;
        std::memcpy(&h, p, 2);
        float d = f16_to_f32(h);
        for (int j = 0; j < 16; ++j) {
          uint8_t q = p[2 + j];
          dst[b * 32 + j] = d * (static_cast<int>(q & 0x0f) - 8);
          dst[b * 32 + j + 16] = d * (static_cast<int>(q >> 4) - 8);
        }
      }
      return;
    case DType::Q4_K: dequant_q4_k(p, dst, n / 256); return;
    case DType::Q5_K: dequant_q5_k(p, dst, n / 256); return;
    case DType::Q6_K: dequant_q6_k(p, dst, n / 256); return;
    case DType::I32: break;
  }
  fail("dtype", std::string("cannot convert ") + dtype_name(t) + " to F32");
}

void from_f32(DType t, const float* src, void* dst, int64_t n) {
  uint8_t* p = static_cast<uint8_t*>(dst);
  switch (t) {
    case DType::F32: std::memcpy(dst, src, n * 4); return;
    case DType::F16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h = f32_to_f16(src[i]);
        std::memcpy(p + 2 * i, &h, 2);
      }
      return;
    case DType::BF16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h = f32_to_bf16(src[i]);
        std::memcpy(p + 2 * i, &h, 2);
      }
      return;
    case DType::Q8_0:
      for (int64_t b = 0; b < n / 32; ++b, p += 34) {
        const float* x = src + b * 32;
        float amax = 0;
        for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(x[i]));
        float d = amax / 127.0f;
        float id = d > 0 ? 1.0f / d : 0.0f;
        uint16_t h = f32_to_f16(d);
        std::memcpy(p, &h, 2);
        for (int i = 0; i < 32; ++i) p[2 + i] = static_cast<uint8_t>(static_cast<int8_t>(std::lround(x[i] * id)));
      }
      return;
    case DType::Q4_0:
      for (int64_t b = 0; b < n / 32; ++b, p += 18) {
        const float* x = src + b * 32;
        // The value of largest magnitude maps to -8 so the full range is used.
        float maxv = 0, amax = 0;
        for (int i = 0; i < 32; ++i)
          if (std::fabs(x[i]) > amax) { amax = std::fabs(x[i]); maxv = x[i]; }
        float d = maxv / -8.0f;
        float id = d != 0 ? 1.0f / d : 0.0f;
        uint16_t h = f32_to_f16(d);
        std::memcpy(p, &h, 2);
        for (int j = 0; j < 16; ++j) {
          int q0 = std::min(15, static_cast<int>(x[j] * id + 8.5f));
          int q1 = std::min(15, static_cast<int>(x[j + 16] * id + 8.5f));
          p[2 + j] = static_cast<uint8_t>(q0 | (q1 << 4));
        }
      }
      return;
    case DType::Q4_K: quant_q4_k(src, p, n / 256); return;
    case DType::Q5_K: quant_q5_k(src, p, n / 256); return;
    case DType::Q6_K: quant_q6_k(src, p, n / 256); return;
    default: break;
  }
  fail("dtype", std::string("cannot convert F32 to ") + dtype_name(t));
}

}  // namespace peft
