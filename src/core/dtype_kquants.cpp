// K-quant dequantization (Q4_K, Q5_K, Q6_K): being written.
#include <cstdint>

#include "core/error.h"

namespace peft {
void dequant_q4_k(const uint8_t*, float*, int64_t) { fail("dtype", "Q4_K is not supported yet"); }
void dequant_q5_k(const uint8_t*, float*, int64_t) { fail("dtype", "Q5_K is not supported yet"); }
void dequant_q6_k(const uint8_t*, float*, int64_t) { fail("dtype", "Q6_K is not supported yet"); }
}  // namespace peft
