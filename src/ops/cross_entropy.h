// Output projection fused with cross-entropy, computed in chunks of the
// vocabulary so that the [N, V] logits never exist at once (memory N · chunk).
//   z = h Wᵀ              h [N, C], W [V, C]
//   loss_i = logsumexp(z_i) − z_i[target_i]     for rows with target_i ≥ 0
// Rows whose target is negative (masked: prompt tokens, padding) contribute
// nothing. Backward for a given upstream weight g_i per row:
//   dz_i = g_i · (softmax(z_i) − onehot(target_i)),  dh = dz W,  dW += dzᵀ h
#pragma once
#include <cstdint>

namespace peft::ops {

// Returns the SUM of loss_i over counted rows (double accumulation) and writes
// lse [N] (needed by the backward; rows with negative target get their lse too).
template <typename T>
double linear_cross_entropy_forward(const T* h, const T* W, const int32_t* targets, T* lse, int64_t N, int64_t C,
                                    int64_t V, int64_t vocab_chunk = 4096);
// grad_scale multiplies every counted row's gradient (e.g. 1 / number of
// counted tokens for a mean loss). dh [N, C] is overwritten; dW [V, C] is
// accumulated, or skipped when null (frozen output head).
template <typename T>
void linear_cross_entropy_backward(const T* h, const T* W, const int32_t* targets, const T* lse, T grad_scale,
                                   T* dh, T* dW, int64_t N, int64_t C, int64_t V, int64_t vocab_chunk = 4096);

// Reference: full logits, double precision. Returns the sum of losses.
template <typename T>
double linear_cross_entropy_ref(const T* h, const T* W, const int32_t* targets, int64_t N, int64_t C, int64_t V);

}  // namespace peft::ops
