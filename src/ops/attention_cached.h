// Causal attention of new tokens over a KV cache (generation).
//
// q, out  [n, Hq, D]   the n new tokens, at absolute positions p0 .. p0+n-1
// k, v    [Tk, Hkv, D] the cache rows 0 .. p0+n-1 (the new tokens' keys and
//                      values already written), stored as Kv: the compute
//                      type, or bf16 (uint16_t, the high half of an f32)
// Query i of head h reads kv head h / (Hq / Hkv) and attends to keys
// j ≤ p0 + i:
//   s_j = scale · q·k_j,  p = softmax(s),  out = Σ_j p_j v_j
// Everything is accumulated in the compute type (bf16 keys and values are
// widened as they are read). Work is split over (query, head) pairs; each
// pair is computed by one thread in a fixed order, so the result does not
// depend on the thread count. Scores live in a per-thread buffer that grows
// to the longest context seen and is then reused: a decode step allocates
// nothing.
#pragma once
#include <cstdint>

namespace peft::ops {

struct CachedAttnShape {
  int64_t n = 0;      // new tokens (queries)
  int64_t p0 = 0;     // position of the first new token = cache rows before them
  int64_t Hq = 0, Hkv = 0, D = 0;
  double scale = 0;   // usually 1/sqrt(D)
};

template <typename T, typename Kv>
void attention_cached(const T* q, const Kv* k, const Kv* v, T* out, const CachedAttnShape& s);

}  // namespace peft::ops
