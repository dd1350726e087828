// The packed 6-bit scales and mins of Q4_K/Q5_K blocks, read by the
// dequantizer (dtype_kquants.cpp) and by the int8 dot products
// (ops/gemv_q8.cpp).
#pragma once
#include <cstdint>

namespace peft {

// Sub-block j (0..7) of a Q4_K/Q5_K block: its scale and min from the
// block's 12 scale bytes (dtype_kquants.cpp describes the packing).
void unpack_scale_min(const uint8_t* scales12, int j, int* scale, int* min);

}  // namespace peft
