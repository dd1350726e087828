#include "core/cpu_features.h"

#include <string>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace peft {

namespace {

#if defined(__x86_64__) || defined(__i386__)
// AMX-BF16 asked of CPUID directly: clang 14 (the fuzz and sanitizer builds)
// does not know "amx-bf16" as a __builtin_cpu_supports name. The instruction
// set is CPUID.(EAX=7,ECX=0):EDX[22]; it is usable only when the OS saves
// the tile state, XCR0 bits 17 (TILECFG) and 18 (TILEDATA), read by XGETBV
// once CPUID.1:ECX[27] (OSXSAVE) says XGETBV may be executed.
bool cpu_has_amx_bf16() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) return false;
  if (__get_cpuid_max(0, nullptr) < 7) return false;
  __cpuid_count(7, 0, a, b, c, d);
  if (!(d & (1u << 22))) return false;
  unsigned lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  const unsigned tiles = (1u << 17) | (1u << 18);
  return (lo & tiles) == tiles;
}

// CPUID.1:ECX bits 12 (FMA), 27 (OSXSAVE), 28 (AVX), 29 (F16C);
// CPUID.(EAX=7,ECX=0):EBX bit 5 (AVX2); XCR0 bits 1 and 2 (SSE and YMM
// state saved by the OS).
bool cpuid_avx2_fma_f16c() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return false;
  const unsigned need1 = (1u << 12) | (1u << 27) | (1u << 28) | (1u << 29);
  if ((c & need1) != need1) return false;
  if (__get_cpuid_max(0, nullptr) < 7) return false;
  __cpuid_count(7, 0, a, b, c, d);
  if (!(b & (1u << 5))) return false;
  unsigned lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (lo & 6u) == 6u;
}
#endif

}  // namespace

bool cpu_has_avx2_fma_f16c() {
#if defined(__x86_64__) || defined(__i386__)
  static const bool has = cpuid_avx2_fma_f16c();
  return has;
#else
  return false;
#endif
}

bool cpu_has_bf16() {
#if defined(__x86_64__) || defined(__i386__)
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512bf16") || cpu_has_amx_bf16();
  }();
  return has;
#else
  return false;
#endif
}

const char* cpu_flags_summary() {
  static const std::string s = [] {
    std::string r;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    auto add = [&](bool on, const char* name) {
      if (!on) return;
      if (!r.empty()) r += ' ';
      r += name;
    };
    add(__builtin_cpu_supports("avx2"), "AVX2");
    add(__builtin_cpu_supports("fma"), "FMA");
    add(__builtin_cpu_supports("avx512f"), "AVX512F");
    add(__builtin_cpu_supports("avx512bf16"), "AVX512_BF16");
    add(cpu_has_amx_bf16(), "AMX_BF16");
#endif
    return r.empty() ? std::string("none") : r;
  }();
  return s.c_str();
}

}  // namespace peft
