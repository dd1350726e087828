// K-quant encoding (Q4_K, Q5_K, Q6_K): the inverse of dtype_kquants.cpp, so
// that bases can be written (bench/make_model) and merged adapters
// re-quantized into the file's type. Block layouts are described there.
//
// Q4_K / Q5_K, per 256-value block with 8 sub-blocks of 32:
//   x ≈ d·sc_j·q − dmin·m_j,  q in [0, nmax] (15 or 31), sc_j, m_j in [0, 63].
// Each sub-block first gets a real (scale s_j, offset o_j ≥ 0) from its range
// [min(0, min x), max x], refined by least squares of x on the chosen q; then
// d = max s_j / 63 and dmin = max o_j / 63 (as f16), sc_j and m_j are the
// rounded ratios, and q is chosen again against the scales actually stored.
// Q6_K, 16 sub-blocks of 16, symmetric: x ≈ d·sc_j·(q − 32), q in [0, 63],
// sc_j an int8; the value of largest magnitude in a sub-block maps to −32.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "core/dtype.h"

namespace peft {

namespace {

void store_f16(float x, uint8_t* p) {
  uint16_t h = f32_to_f16(x);
  std::memcpy(p, &h, 2);
}

float f16_round(float x) { return f16_to_f32(f32_to_f16(x)); }

int nearest(float x) { return static_cast<int>(std::lround(x)); }

// Fits x[n] ≈ s·q − o with q in [0, nmax], o ≥ 0. Returns the squared error.
double fit_scale_offset(const float* x, int n, int nmax, float* s_out, float* o_out) {
  float mn = 0.0f, mx = x[0];
  for (int i = 0; i < n; ++i) {
    mn = std::min(mn, x[i]);
    mx = std::max(mx, x[i]);
  }
  if (mx <= mn) {
    *s_out = 0.0f;
    *o_out = -mn;
    return 0.0;
  }
  float s = (mx - mn) / nmax, o = -mn;
  auto error_of = [&](float sc, float off, int* q) {
    double e = 0;
    for (int i = 0; i < n; ++i) {
      int qi = sc > 0 ? std::clamp(nearest((x[i] + off) / sc), 0, nmax) : 0;
      if (q) q[i] = qi;
      double r = sc * qi - off - x[i];
      e += r * r;
    }
    return e;
  };
  int q[32];
  double best = error_of(s, o, q);
  // Two rounds of least squares on the current q: x = s·q + b, o = −b.
  for (int round = 0; round < 2; ++round) {
    double sq = 0, sx = 0, sqq = 0, sqx = 0;
    for (int i = 0; i < n; ++i) {
      sq += q[i];
      sx += x[i];
      sqq += static_cast<double>(q[i]) * q[i];
      sqx += static_cast<double>(q[i]) * x[i];
    }
    const double det = n * sqq - sq * sq;
    if (det <= 0) break;
    double ns = (n * sqx - sq * sx) / det;
    double nb = (sx - ns * sq) / n;
    if (nb > 0) {  // the offset must stay ≥ 0: refit the scale alone
      nb = 0;
      ns = sqq > 0 ? sqx / sqq : 0;
    }
    if (ns <= 0) break;
    int nq[32];
    const double e = error_of(static_cast<float>(ns), static_cast<float>(-nb), nq);
    if (e >= best) break;
    best = e;
    s = static_cast<float>(ns);
    o = static_cast<float>(-nb);
    std::memcpy(q, nq, sizeof(int) * n);
  }
  *s_out = s;
  *o_out = o;
  return best;
}

void pack_scale_min(const int sc[8], const int mn[8], uint8_t* out) {
  for (int j = 0; j < 4; ++j) {
    out[j] = static_cast<uint8_t>((sc[j] & 63) | ((sc[j + 4] >> 4) << 6));
    out[j + 4] = static_cast<uint8_t>((mn[j] & 63) | ((mn[j + 4] >> 4) << 6));
    out[j + 8] = static_cast<uint8_t>((sc[j + 4] & 15) | ((mn[j + 4] & 15) << 4));
  }
}

// Q4_K and Q5_K share everything but the width of q and where its bits go.
// q[256] receives the chosen values; the caller packs them.
void quantize_k_scales(const float* x, int nmax, uint8_t* head, int q[256]) {
  float s[8], o[8];
  for (int j = 0; j < 8; ++j) fit_scale_offset(x + 32 * j, 32, nmax, &s[j], &o[j]);
  float smax = 0, omax = 0;
  for (int j = 0; j < 8; ++j) {
    smax = std::max(smax, s[j]);
    omax = std::max(omax, o[j]);
  }
  const float d = f16_round(smax / 63.0f), dmin = f16_round(omax / 63.0f);
  int sc[8], mn[8];
  for (int j = 0; j < 8; ++j) {
    sc[j] = d > 0 ? std::clamp(nearest(s[j] / d), 0, 63) : 0;
    mn[j] = dmin > 0 ? std::clamp(nearest(o[j] / dmin), 0, 63) : 0;
  }
  store_f16(d, head);
  store_f16(dmin, head + 2);
  pack_scale_min(sc, mn, head + 4);
  for (int j = 0; j < 8; ++j) {
    const float step = d * sc[j], off = dmin * mn[j];
    for (int i = 0; i < 32; ++i)
      q[32 * j + i] = step > 0 ? std::clamp(nearest((x[32 * j + i] + off) / step), 0, nmax) : 0;
  }
}

}  // namespace

void quant_q4_k(const float* src, uint8_t* dst, int64_t nblocks) {
  for (int64_t b = 0; b < nblocks; ++b, src += 256, dst += 144) {
    int q[256];
    quantize_k_scales(src, 15, dst, q);
    uint8_t* qs = dst + 16;
    for (int g = 0; g < 4; ++g)
      for (int l = 0; l < 32; ++l)
        qs[32 * g + l] = static_cast<uint8_t>(q[64 * g + l] | (q[64 * g + 32 + l] << 4));
  }
}

void quant_q5_k(const float* src, uint8_t* dst, int64_t nblocks) {
  for (int64_t b = 0; b < nblocks; ++b, src += 256, dst += 176) {
    int q[256];
    quantize_k_scales(src, 31, dst, q);
    uint8_t* qh = dst + 16;
    uint8_t* qs = dst + 48;
    std::memset(qh, 0, 32);
    for (int g = 0; g < 4; ++g)
      for (int l = 0; l < 32; ++l) {
        const int lo = q[64 * g + l], hi = q[64 * g + 32 + l];
        qs[32 * g + l] = static_cast<uint8_t>((lo & 15) | ((hi & 15) << 4));
        qh[l] |= static_cast<uint8_t>(((lo >> 4) << (2 * g)) | ((hi >> 4) << (2 * g + 1)));
      }
  }
}

void quant_q6_k(const float* src, uint8_t* dst, int64_t nblocks) {
  for (int64_t b = 0; b < nblocks; ++b, src += 256, dst += 210) {
    float s[16];
    for (int j = 0; j < 16; ++j) {
      float maxv = 0, amax = 0;
      for (int i = 0; i < 16; ++i)
        if (std::fabs(src[16 * j + i]) > amax) {
          amax = std::fabs(src[16 * j + i]);
          maxv = src[16 * j + i];
        }
      s[j] = maxv / -32.0f;
    }
    float smax = 0;
    for (int j = 0; j < 16; ++j) smax = std::max(smax, std::fabs(s[j]));
    const float d = f16_round(smax / 127.0f);
    int8_t* scales = reinterpret_cast<int8_t*>(dst + 192);
    int q[256];
    for (int j = 0; j < 16; ++j) {
      const int sc = d > 0 ? std::clamp(nearest(s[j] / d), -128, 127) : 0;
      scales[j] = static_cast<int8_t>(sc);
      const float step = d * sc;
      for (int i = 0; i < 16; ++i)
        q[16 * j + i] = step != 0 ? std::clamp(nearest(src[16 * j + i] / step) + 32, 0, 63) : 32;
    }
    store_f16(d, dst + 208);
    for (int h = 0; h < 2; ++h) {
      uint8_t* ql = dst + 64 * h;
      uint8_t* qh = dst + 128 + 32 * h;
      const int* v = q + 128 * h;
      for (int l = 0; l < 32; ++l) {
        ql[l] = static_cast<uint8_t>((v[l] & 15) | ((v[64 + l] & 15) << 4));
        ql[l + 32] = static_cast<uint8_t>((v[32 + l] & 15) | ((v[96 + l] & 15) << 4));
        qh[l] = static_cast<uint8_t>((v[l] >> 4) | ((v[32 + l] >> 4) << 2) | ((v[64 + l] >> 4) << 4) |
                                     ((v[96 + l] >> 4) << 6));
      }
    }
  }
}

}  // namespace peft
