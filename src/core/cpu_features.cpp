#include "core/cpu_features.h"

#include <string>

namespace peft {

bool cpu_has_bf16() {
#if defined(__x86_64__) || defined(__i386__)
  static const bool has = __builtin_cpu_supports("avx512bf16") || __builtin_cpu_supports("amx-bf16");
  return has;
#else
  return false;
#endif
}

const char* cpu_flags_summary() {
  static const std::string s = [] {
    std::string r;
#if defined(__x86_64__) || defined(__i386__)
    auto add = [&](bool on, const char* name) {
      if (!on) return;
      if (!r.empty()) r += ' ';
      r += name;
    };
    add(__builtin_cpu_supports("avx2"), "AVX2");
    add(__builtin_cpu_supports("fma"), "FMA");
    add(__builtin_cpu_supports("avx512f"), "AVX512F");
    add(__builtin_cpu_supports("avx512bf16"), "AVX512_BF16");
    add(__builtin_cpu_supports("amx-bf16"), "AMX_BF16");
#endif
    return r.empty() ? std::string("none") : r;
  }();
  return s.c_str();
}

}  // namespace peft
