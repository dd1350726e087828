// Grouped-query attention, causal (decoders) or bidirectional (encoders),
// fused and tiled (flash-attention style) so that memory is O(T) per head:
// one kernel per (batch, head, 64-query tile) computes scores a 64-key block
// at a time, masks them, applies an online softmax and multiplies into the
// output; the forward keeps only the output and the row log-sum-exp, the
// backward recomputes each block's probabilities from it. No [T, T] matrix
// and no [64, T] row of scores is ever written.
//
// Layout is token-major, as the q/k/v projections produce it:
//   q, out  [B, Tq, Hq, D]      k, v  [B, Tk, Hkv, D]      lse [B, Hq, Tq]
// Query head h reads kv head h / (Hq / Hkv). Query row i sits at absolute
// position q_offset + i (q_offset = Tk − Tq: a KV cache holds the first Tk − Tq
// positions) and attends to keys j ≤ q_offset + i, and only to keys with the
// same segment id when segments are given (packing several examples in one
// row keeps attention inside each example). Bidirectional attention
// (causal = false) drops the j ≤ q_offset + i limit. A key padding mask
// [B, Tk] (1 = token, 0 = padding) hides padded keys from every query: they
// get probability exactly 0 and receive no gradient. A query row that sees no
// key at all (a padded row of a left-padded causal batch) outputs zeros and
// passes no gradient; a padded query row of a bidirectional batch attends to
// the real keys like any other row, which is harmless because nothing
// downstream reads it (pooling skips padding).
//   S = scale · q kᵀ,  P = softmax(S + mask),  out = P v,  lse = logsumexp(S + mask)
// Backward, with Di = Σ_d dout_id · out_id:
//   dP = dout vᵀ,  dS = P ⊙ (dP − D),  dq = scale · dS k,  dk = scale · dSᵀ q,  dv = Pᵀ dout
#pragma once
#include <cstdint>

namespace peft::ops {

struct AttnShape {
  int64_t B = 1, Tq = 0, Tk = 0, Hq = 0, Hkv = 0, D = 0;
  double scale = 0;                  // usually 1/sqrt(D)
  const int32_t* segments = nullptr;  // [B, Tk] or null; queries use the last Tq entries
  bool causal = true;
  const uint8_t* key_mask = nullptr;  // [B, Tk] or null: 1 = token, 0 = padding (never attended to)
};

template <typename T>
void attention_forward(const T* q, const T* k, const T* v, T* out, T* lse, const AttnShape& s);
// Requires Tq == Tk (training). dq, dk, dv are overwritten.
template <typename T>
void attention_backward(const T* q, const T* k, const T* v, const T* out, const T* dout, const T* lse, T* dq, T* dk,
                        T* dv, const AttnShape& s);

// The unfused twin (attention_unfused.cpp): the same contract through
// oneDNN GEMM calls on [64, Tk] score rows. Kept as a reference for the
// fused kernels above.
template <typename T>
void attention_forward_unfused(const T* q, const T* k, const T* v, T* out, T* lse, const AttnShape& s);
template <typename T>
void attention_backward_unfused(const T* q, const T* k, const T* v, const T* out, const T* dout, const T* lse, T* dq,
                                T* dk, T* dv, const AttnShape& s);

// Reference: materialises the full score matrix, double accumulation.
template <typename T>
void attention_forward_ref(const T* q, const T* k, const T* v, T* out, const AttnShape& s);

}  // namespace peft::ops
