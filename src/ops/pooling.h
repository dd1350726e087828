// Pooling of token states into one vector per sequence, as sentence-
// transformers' Pooling module computes it. With h [B, T, C] and the
// attention mask m [B, T] (1 = token, 0 = padding):
//   cls:   out_b = h[b, 0]
//   mean:  out_b = Σ_t m_bt · h[b, t] / max(Σ_t m_bt, 1)   (0 for an all-padding row)
//   last:  out_b = h[b, t*] with t* the last t where m_bt = 1 (T − 1 when there is none),
//          which is right for left- and right-padded batches alike
// Backward scatters dout back to the rows that were read; every other row of
// dh is 0.
#pragma once
#include <cstdint>
#include <string>

namespace peft::ops {

enum class PoolMode { Cls, Mean, Last };

// "cls", "mean", "last" (also sentence-transformers' "lasttoken"). Throws
// InputError "[pooling] ..." for anything else.
PoolMode pool_mode_from_string(const std::string& s);
const char* pool_mode_name(PoolMode m);

// h: [B, T, C]; mask: [B, T] or null (no padding); out: [B, C].
template <typename T>
void pool_forward(const T* h, const uint8_t* mask, T* out, int64_t B, int64_t Tn, int64_t C, PoolMode mode);
// dout: [B, C]; dh: [B, T, C], overwritten.
template <typename T>
void pool_backward(const T* dout, const uint8_t* mask, T* dh, int64_t B, int64_t Tn, int64_t C, PoolMode mode);

template <typename T>
void pool_forward_ref(const T* h, const uint8_t* mask, T* out, int64_t B, int64_t Tn, int64_t C, PoolMode mode);

}  // namespace peft::ops
