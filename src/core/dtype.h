// Storage types of tensors, and conversion between them.
//
// f32 is the compute type. f16 and bf16 are storage types for frozen weights.
// GGUF block-quantized types (Q8_0, Q4_0, and the K-quants) are read and
// dequantized to f32 row by row; each block covers `block_size` values along
// the fastest (last, row-major) dimension.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace peft {

enum class DType : uint8_t { F32, F16, BF16, F64, I32, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K };

// Values per block (1 for plain types).
int64_t dtype_block_size(DType t);
// Bytes per block (bytes per element for plain types).
int64_t dtype_block_bytes(DType t);
// Bytes needed for `n` values; n must be a multiple of the block size.
int64_t dtype_bytes(DType t, int64_t n);
const char* dtype_name(DType t);
bool dtype_is_quantized(DType t);

float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);  // round to nearest even
inline float bf16_to_f32(uint16_t h) {
  uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  __builtin_memcpy(&f, &u, 4);
  return f;
}
uint16_t f32_to_bf16(float f);  // round to nearest even, NaN kept NaN

// Converts `n` values stored as `src_type` at `src` to f32 at `dst`.
// n must be a multiple of the block size of src_type.
void to_f32(DType src_type, const void* src, float* dst, int64_t n);
// Converts f32 to a plain storage type (F32, F16, BF16) or quantizes (Q8_0,
// Q4_0, Q4_K, Q5_K, Q6_K; n a multiple of the block size).
void from_f32(DType dst_type, const float* src, void* dst, int64_t n);

}  // namespace peft
