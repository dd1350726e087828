// What the CPU we run on can do, asked at run time: our machines differ from
// one session to the next, so nothing here is decided at compile time.
#pragma once

namespace peft {

// bf16 dot-product instructions (AVX512_BF16 or AMX-BF16): where they exist,
// bf16 weights cost no speed, so f32 files are held as bf16 by default.
bool cpu_has_bf16();
// "AVX2 FMA AVX512F AVX512_BF16 AMX_BF16" as far as present, for bench output.
const char* cpu_flags_summary();

}  // namespace peft
