// What the CPU we run on can do, asked at run time: our machines differ from
// one session to the next, so nothing here is decided at compile time.
#pragma once

namespace peft {

// bf16 dot-product instructions (AVX512_BF16 or AMX-BF16): where they exist,
// bf16 weights cost no speed, so f32 files are held as bf16 by default.
bool cpu_has_bf16();
// AVX2 with FMA and F16C, and the OS saving YMM state: what the hand-written
// AVX2 kernels (ops/gemv_q8) need. Asked of CPUID, since clang 14 (the fuzz
// and sanitizer builds) does not know every __builtin_cpu_supports name.
bool cpu_has_avx2_fma_f16c();
// "AVX2 FMA AVX512F AVX512_BF16 AMX_BF16" as far as present, for bench output.
const char* cpu_flags_summary();

}  // namespace peft
