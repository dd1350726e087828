// Output projection fused with cross-entropy, computed in chunks of the
// vocabulary so that the [N, V] logits never exist at once (memory N · chunk).
//   z = h Wᵀ              h [N, C], W [V, C]
//   loss_i = logsumexp(z_i) − z_i[target_i]     for rows with target_i ≥ 0
// Rows whose target is negative (masked: prompt tokens, padding) contribute
// nothing. Backward for a given upstream weight g_i per row:
//   dz_i = g_i · (softmax(z_i) − onehot(target_i)),  dh = dz W,  dW += dzᵀ h
#pragma once
#include <cstdint>
#include <type_traits>

#include "ops/weight_ops.h"

namespace peft::ops {

// W is dense or a stored (bf16/quantized) frozen head (ops/weight_ops.h).
// Returns the SUM of loss_i over counted rows (double accumulation) and writes
// lse [N] (needed by the backward; rows with negative target get their lse too).
template <typename T>
double linear_cross_entropy_forward(const T* h, std::type_identity_t<WeightRef<T>> W, const int32_t* targets, T* lse, int64_t N, int64_t C,
                                    int64_t V, int64_t vocab_chunk = 4096);
// grad_scale multiplies every counted row's gradient (e.g. 1 / number of
// counted tokens for a mean loss). dh [N, C] is overwritten; dW [V, C] is
// accumulated, or skipped when null (frozen output head).
template <typename T>
void linear_cross_entropy_backward(const T* h, std::type_identity_t<WeightRef<T>> W, const int32_t* targets, const T* lse, T grad_scale,
                                   T* dh, T* dW, int64_t N, int64_t C, int64_t V, int64_t vocab_chunk = 4096);

// Forward and input gradient in ONE pass over the vocabulary, for a frozen
// output head (no dW): the logits of each chunk are used once, for both the
// running logsumexp and the gradient, instead of being recomputed by a
// separate backward. One GEMM pair per chunk instead of three GEMMs.
//   dh_i = g_i · (Σ_v p_iv W_v − W_target_i),  p_iv = exp(z_iv − lse_i)
// lse_i is known only after the last chunk, so the sum is accumulated with
// weights exp(z_iv − m_i) against the running max m_i (rescaled by
// exp(m_old − m_new) whenever the max grows) and divided by the running sum
// s_i at the end: Σ_v p_iv W_v = (Σ_v exp(z_iv − m_i) W_v) / s_i, the same
// rescaling flash attention uses for its output. Returns the SUM of losses
// over counted rows; dh [N, C] is overwritten (masked rows get 0); lse [N]
// is written for counted rows only.
template <typename T>
double linear_cross_entropy_fused(const T* h, std::type_identity_t<WeightRef<T>> W, const int32_t* targets, T* lse, T grad_scale, T* dh,
                                  int64_t N, int64_t C, int64_t V, int64_t vocab_chunk = 4096);

// Reference: full logits, double precision. Returns the sum of losses.
template <typename T>
double linear_cross_entropy_ref(const T* h, const T* W, const int32_t* targets, int64_t N, int64_t C, int64_t V);

}  // namespace peft::ops
