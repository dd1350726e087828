#include "ops/pooling.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"

namespace peft::ops {

PoolMode pool_mode_from_string(const std::string& s) {
  if (s == "cls") return PoolMode::Cls;
  if (s == "mean") return PoolMode::Mean;
  if (s == "last" || s == "lasttoken") return PoolMode::Last;
  fail("pooling", "unknown pooling mode '" + s + "' (expected cls, mean or last)");
}

const char* pool_mode_name(PoolMode m) {
  switch (m) {
    case PoolMode::Cls: return "cls";
    case PoolMode::Mean: return "mean";
    case PoolMode::Last: return "last";
  }
  return "?";
}

namespace {

bool valid(const uint8_t* mask, int64_t b, int64_t Tn, int64_t t) { return mask == nullptr || mask[b * Tn + t] != 0; }

int64_t last_valid(const uint8_t* mask, int64_t b, int64_t Tn) {
  for (int64_t t = Tn - 1; t >= 0; --t)
    if (valid(mask, b, Tn, t)) return t;
  return Tn - 1;
}

int64_t count_valid(const uint8_t* mask, int64_t b, int64_t Tn) {
  int64_t n = 0;
  for (int64_t t = 0; t < Tn; ++t) n += valid(mask, b, Tn, t);
  return n;
}

}  // namespace

// One sequence per iteration; the mean sums tokens in order, so the result
// does not depend on the thread count.
template <typename T>
void pool_forward(const T* h, const uint8_t* mask, T* out, int64_t B, int64_t Tn, int64_t C, PoolMode mode) {
#pragma omp parallel for schedule(static) if (B * Tn * C > 65536)
  for (int64_t b = 0; b < B; ++b) {
    T* o = out + b * C;
    const T* hb = h + b * Tn * C;
    if (mode == PoolMode::Cls) {
      std::memcpy(o, hb, sizeof(T) * C);
    } else if (mode == PoolMode::Last) {
      std::memcpy(o, hb + last_valid(mask, b, Tn) * C, sizeof(T) * C);
    } else {
      std::fill(o, o + C, T(0));
      for (int64_t t = 0; t < Tn; ++t)
        if (valid(mask, b, Tn, t))
          for (int64_t c = 0; c < C; ++c) o[c] += hb[t * C + c];
      const T inv = T(1) / static_cast<T>(std::max<int64_t>(count_valid(mask, b, Tn), 1));
      for (int64_t c = 0; c < C; ++c) o[c] *= inv;
    }
  }
}

template <typename T>
void pool_backward(const T* dout, const uint8_t* mask, T* dh, int64_t B, int64_t Tn, int64_t C, PoolMode mode) {
#pragma omp parallel for schedule(static) if (B * Tn * C > 65536)
  for (int64_t b = 0; b < B; ++b) {
    const T* d = dout + b * C;
    T* hb = dh + b * Tn * C;
    std::fill(hb, hb + Tn * C, T(0));
    if (mode == PoolMode::Cls) {
      std::memcpy(hb, d, sizeof(T) * C);
    } else if (mode == PoolMode::Last) {
      std::memcpy(hb + last_valid(mask, b, Tn) * C, d, sizeof(T) * C);
    } else {
      const T inv = T(1) / static_cast<T>(std::max<int64_t>(count_valid(mask, b, Tn), 1));
      for (int64_t t = 0; t < Tn; ++t)
        if (valid(mask, b, Tn, t))
          for (int64_t c = 0; c < C; ++c) hb[t * C + c] = d[c] * inv;
    }
  }
}

template <typename T>
void pool_forward_ref(const T* h, const uint8_t* mask, T* out, int64_t B, int64_t Tn, int64_t C, PoolMode mode) {
  for (int64_t b = 0; b < B; ++b)
    for (int64_t c = 0; c < C; ++c) {
      double acc = 0, n = 0;
      for (int64_t t = 0; t < Tn; ++t) {
        const bool on = mask == nullptr || mask[b * Tn + t] != 0;
        bool take = false;
        if (mode == PoolMode::Cls) take = t == 0;
        if (mode == PoolMode::Mean) take = on;
        if (mode == PoolMode::Last) {
          // t is the last valid token, or T − 1 when no token is valid.
          bool later = false, any = false;
          for (int64_t u = 0; u < Tn; ++u) {
            const bool on_u = mask == nullptr || mask[b * Tn + u] != 0;
            any = any || on_u;
            later = later || (u > t && on_u);
          }
          take = any ? (on && !later) : t == Tn - 1;
        }
        if (take) {
          acc += h[(b * Tn + t) * C + c];
          n += 1;
        }
      }
      out[b * C + c] = static_cast<T>(mode == PoolMode::Mean ? acc / std::max(n, 1.0) : acc);
    }
}

#define PEFT_INST(T)                                                                                      \
  template void pool_forward<T>(const T*, const uint8_t*, T*, int64_t, int64_t, int64_t, PoolMode);      \
  template void pool_backward<T>(const T*, const uint8_t*, T*, int64_t, int64_t, int64_t, PoolMode);     \
  template void pool_forward_ref<T>(const T*, const uint8_t*, T*, int64_t, int64_t, int64_t, PoolMode);
PEFT_INST(float)
PEFT_INST(double)
#undef PEFT_INST

}  // namespace peft::ops
