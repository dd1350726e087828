// Masks of the attention kernels (internal to src/ops): which keys a query
// row may see (causal limit, packing segments, key padding), shared by the
// fused kernels (attention.cpp) and the unfused GEMM-based twin
// (attention_unfused.cpp) so both read the same rules.
#pragma once
#include <algorithm>
#include <cstdint>
#include <limits>

#include "ops/attention.h"

namespace peft::ops::attn_detail {

// Query rows per tile; also the most rows key_range looks at.
constexpr int64_t kBlockQ = 64;

// Which keys query row i (absolute position q_off + i) may see:
//   j ≤ q_off + i when causal, the same segment id when segments are given,
//   and only real tokens when a key padding mask is given.
struct Mask {
  int64_t q_off = 0;
  bool causal = true;
  const int32_t* seg = nullptr;   // [Tk] of this batch row, or null
  const uint8_t* keep = nullptr;  // [Tk] of this batch row, or null
  int64_t tk = 0;

  bool allowed(int64_t i, int64_t j) const {
    return (!causal || j <= q_off + i) && (seg == nullptr || seg[j] == seg[q_off + i]) &&
           (keep == nullptr || keep[j] != 0);
  }
  // Row i's scores cover keys begin .. begin + n − 1; keys from begin + limit
  // on are past the causal limit for every mask. Never negative.
  int64_t limit(int64_t i, int64_t begin, int64_t n) const {
    return causal ? std::clamp<int64_t>(q_off + i - begin + 1, 0, n) : n;
  }
  // Sets the scores of keys row i may not see (segment or padding) to −inf.
  template <typename T>
  void hide(T* S, int64_t lim, int64_t begin, int64_t i) const {
    if (seg) {
      const int32_t own = seg[q_off + i];
      for (int64_t c = 0; c < lim; ++c)
        if (seg[begin + c] != own) S[c] = -std::numeric_limits<T>::infinity();
    }
    if (keep)
      for (int64_t c = 0; c < lim; ++c)
        if (keep[begin + c] == 0) S[c] = -std::numeric_limits<T>::infinity();
  }
};

inline Mask make_mask(const AttnShape& s, int64_t b) {
  Mask m;
  m.q_off = s.Tk - s.Tq;
  m.causal = s.causal;
  m.seg = s.segments ? s.segments + b * s.Tk : nullptr;
  m.keep = s.key_mask ? s.key_mask + b * s.Tk : nullptr;
  m.tk = s.Tk;
  return m;
}

// Keys [begin, end) that query rows [i0, i1) can see at all; begin == end
// when none can. end is the causal limit of the last row (Tk when
// bidirectional); both ends are then pulled in past keys no row of the tile
// can see: padding, and keys of segments the tile does not touch (packed
// examples: a tile only computes scores against its own examples).
inline void key_range(const Mask& m, int64_t i0, int64_t i1, int64_t& begin, int64_t& end) {
  end = m.causal ? m.q_off + i1 : m.tk;
  begin = 0;
  if (m.seg == nullptr && m.keep == nullptr) return;
  int32_t ids[kBlockQ];
  int64_t nid = 0;
  if (m.seg)
    for (int64_t i = i0; i < i1; ++i) {
      const int32_t id = m.seg[m.q_off + i];
      if (std::find(ids, ids + nid, id) == ids + nid) ids[nid++] = id;
    }
  auto visible = [&](int64_t j) {
    return (m.keep == nullptr || m.keep[j] != 0) && (m.seg == nullptr || std::find(ids, ids + nid, m.seg[j]) != ids + nid);
  };
  while (begin < end && !visible(begin)) ++begin;
  while (end > begin && !visible(end - 1)) --end;
}


}  // namespace peft::ops::attn_detail
