#include "ops/rope.h"

#include <cmath>
#include <string>
#include <vector>

#include "core/error.h"

namespace peft::ops {

namespace {

// Dimensions rotated: rot_dim, or all of head_dim when rot_dim is left at 0.
int64_t rotated_dims(const RopeSpec& spec) {
  const int64_t rd = spec.rot_dim > 0 ? spec.rot_dim : spec.head_dim;
  if (spec.head_dim <= 0 || rd % 2 != 0 || rd > spec.head_dim)
    fail("rope", "bad dimensions: head_dim " + std::to_string(spec.head_dim) + ", rot_dim " +
                     std::to_string(spec.rot_dim) + " (rot_dim must be even and at most head_dim)");
  return rd;
}

// Index of the two coordinates of pair i within one head.
inline void pair_index(RopeStyle style, int64_t i, int64_t half, int64_t& a, int64_t& b) {
  if (style == RopeStyle::Interleaved) {
    a = 2 * i;
    b = 2 * i + 1;
  } else {
    a = i;
    b = i + half;
  }
}

// Rotates every head of every token by angle sign · pos · inv_freq[i].
// cos/sin are computed in double per (token, pair) and then cast, so the float
// and double kernels see the same angles; they are shared by all heads.
template <typename T>
void rotate(T* x, const int32_t* pos, int64_t tokens, int64_t heads, const RopeSpec& spec, double sign) {
  const int64_t rd = rotated_dims(spec);
  const int64_t half = rd / 2;
  const std::vector<double> inv = spec.inv_freq();
  const int64_t hd = spec.head_dim;
#pragma omp parallel if (tokens * heads * hd > 32768)
  {
    std::vector<T> cs(static_cast<size_t>(half)), sn(static_cast<size_t>(half));
#pragma omp for schedule(static)
    for (int64_t t = 0; t < tokens; ++t) {
      const double p = static_cast<double>(pos[t]);
      for (int64_t i = 0; i < half; ++i) {
        const double ang = p * inv[i];
        cs[i] = static_cast<T>(std::cos(ang));
        sn[i] = static_cast<T>(sign * std::sin(ang));
      }
      for (int64_t h = 0; h < heads; ++h) {
        T* xh = x + (t * heads + h) * hd;
        if (spec.style == RopeStyle::Interleaved) {
          for (int64_t i = 0; i < half; ++i) {
            const T a = xh[2 * i], b = xh[2 * i + 1];
            xh[2 * i] = a * cs[i] - b * sn[i];
            xh[2 * i + 1] = a * sn[i] + b * cs[i];
          }
        } else {
          for (int64_t i = 0; i < half; ++i) {
            const T a = xh[i], b = xh[i + half];
            xh[i] = a * cs[i] - b * sn[i];
            xh[i + half] = a * sn[i] + b * cs[i];
          }
        }
      }
    }
  }
}

}  // namespace

std::vector<double> RopeSpec::inv_freq() const {
  const int64_t rd = rotated_dims(*this);
  const int64_t half = rd / 2;
  std::vector<double> inv(static_cast<size_t>(half));
  for (int64_t i = 0; i < half; ++i)
    inv[i] = std::pow(theta, -2.0 * static_cast<double>(i) / static_cast<double>(rd));
  const std::string& ty = scaling.type;
  if (ty.empty() || ty == "default") return inv;
  if (!(scaling.factor > 0)) fail("rope", "rope_scaling factor must be positive");
  if (ty == "factors") {
    if (scaling.freq_factors.size() != inv.size())
      fail("rope", "rope frequency factors: " + std::to_string(scaling.freq_factors.size()) + " for " +
                       std::to_string(inv.size()) + " rotated pairs");
    for (size_t i = 0; i < inv.size(); ++i) {
      if (!(scaling.freq_factors[i] > 0)) fail("rope", "rope frequency factors must be positive");
      inv[i] /= scaling.freq_factors[i];
    }
    return inv;
  }
  if (ty == "linear") {
    // Positions divided by factor == every frequency divided by factor.
    for (double& f : inv) f /= scaling.factor;
    return inv;
  }
  if (ty == "llama3") {
    // Meta's rule: short wavelengths (high frequency) are kept, long ones are
    // slowed down by factor, and the band between is blended linearly in
    // original_max / wavelength.
    const double lo = scaling.low_freq_factor, hi = scaling.high_freq_factor;
    const double orig = static_cast<double>(scaling.original_max_position);
    if (!(hi > lo) || !(lo > 0) || !(orig > 0))
      fail("rope", "llama3 rope_scaling needs 0 < low_freq_factor < high_freq_factor and a positive "
                   "original_max_position_embeddings");
    const double kPi = 3.14159265358979323846;
    const double low_wavelen = orig / lo, high_wavelen = orig / hi;
    for (double& f : inv) {
      const double wavelen = 2.0 * kPi / f;
      if (wavelen < high_wavelen) continue;
      if (wavelen > low_wavelen) {
        f /= scaling.factor;
      } else {
        const double smooth = (orig / wavelen - lo) / (hi - lo);
        f = (1.0 - smooth) * f / scaling.factor + smooth * f;
      }
    }
    return inv;
  }
  fail("rope", "unsupported rope_scaling type '" + ty + "' (supported: linear, llama3, factors)");
}

template <typename T>
void rope_forward(T* x, const int32_t* pos, int64_t tokens, int64_t heads, const RopeSpec& spec) {
  rotate(x, pos, tokens, heads, spec, 1.0);
}

// The rotation is orthogonal, so its transpose (the backward) is the rotation
// by the opposite angle.
template <typename T>
void rope_backward(T* dx, const int32_t* pos, int64_t tokens, int64_t heads, const RopeSpec& spec) {
  rotate(dx, pos, tokens, heads, spec, -1.0);
}

template <typename T>
void rope_forward_ref(T* x, const int32_t* pos, int64_t tokens, int64_t heads, const RopeSpec& spec) {
  const int64_t rd = rotated_dims(spec);
  const int64_t half = rd / 2;
  const std::vector<double> inv = spec.inv_freq();
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t i = 0; i < half; ++i) {
        int64_t ia, ib;
        pair_index(spec.style, i, half, ia, ib);
        T* xh = x + (t * heads + h) * spec.head_dim;
        const double ang = static_cast<double>(pos[t]) * inv[i];
        const double a = xh[ia], b = xh[ib];
        xh[ia] = static_cast<T>(a * std::cos(ang) - b * std::sin(ang));
        xh[ib] = static_cast<T>(a * std::sin(ang) + b * std::cos(ang));
      }
}

#define PEFT_INST(T)                                                                          \
  template void rope_forward<T>(T*, const int32_t*, int64_t, int64_t, const RopeSpec&);       \
  template void rope_backward<T>(T*, const int32_t*, int64_t, int64_t, const RopeSpec&);      \
  template void rope_forward_ref<T>(T*, const int32_t*, int64_t, int64_t, const RopeSpec&);
PEFT_INST(float)
PEFT_INST(double)
#undef PEFT_INST

}  // namespace peft::ops
