// How a frozen base is held in memory (--base-dtype). The compute type is
// always f32; this chooses the storage type of the big matrices (linear
// weights, token embedding, output head). Norms and biases stay f32.
//   f32   every matrix converted to f32 (the old behaviour, most memory)
//   bf16  f32/f16 matrices rounded to bf16; quantized ones dequantized to bf16
//   keep  each matrix in its file's type (F32, F16, BF16, Q8_0, Q4_0, Q4_K...)
//   auto  keep for anything not f32; f32 matrices become bf16 where the CPU
//         has bf16 instructions (cpu_has_bf16(), asked at run time) and stay
//         f32 where it has not: without them every product of a bf16 weight
//         first widens it, which costs speed for half the memory.
// A matrix that is trained (full fine-tuning, PiSSA, Delta-LoRA) is turned
// back into an f32 master when it becomes trainable (Param::set_trainable).
#pragma once
#include <string>

#include "core/dtype.h"

namespace peft {

enum class BaseDType { Auto, F32, BF16, Keep };

// "auto", "f32", "bf16", "keep"; anything else is "[model] --base-dtype ...".
BaseDType parse_base_dtype(const std::string& s);
const char* base_dtype_name(BaseDType b);
// The storage type for a matrix whose file type is `file` under `policy`.
DType base_storage_type(BaseDType policy, DType file);

}  // namespace peft
