// The KV cache of generation (LlamaModel::forward_cached) and the buffers a
// cached forward works in.
//
// Per layer, keys (after rope) and values of every position fed so far:
// [capacity, Hkv·D] rows, stored either in the compute type T or in bf16
// (half the memory and half the bytes attention reads per step; a bf16 value
// keeps 8 bits of mantissa, so logits move by about 1e-3 relative, see
// tests/test_decode.cpp). The cached forward's activations live here too,
// grown to the largest batch fed so far and then reused, so that a decode
// step of one token allocates nothing.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/tensor.h"
#include "model/act_buffer.h"

namespace peft {

// "f32" or "bf16" (the --kv-dtype names); anything else is a [generate] error.
DType parse_kv_dtype(const std::string& name);

template <typename T>
struct KvCache {
  int64_t capacity = 0, length = 0;
  DType dtype = DType::F32;                        // F32: the compute type T; or BF16
  std::vector<AlignedPtr<T>> k, v;                 // dtype F32: per layer [capacity, Hkv·D]
  std::vector<AlignedPtr<uint16_t>> k16, v16;      // dtype BF16: per layer [capacity, Hkv·D]

  // Activations of forward_cached for n tokens: x, xn, out [n, dim];
  // q, att [n, Hq·D]; k, v [n, Hkv·D] (bf16 cache: before they are rounded
  // into it); g, u, h [n, hidden]; rope cos/sin [n, rot_dim/2]; rstd [n·Hq].
  struct Scratch {
    ActBuffer<T> x, xn, out, q, att, k, v, g, u, h, qr, kr, cos, sin, rstd;
    std::vector<double> inv_freq;  // rope's per-pair inverse frequencies, set by make_cache
  } work;

  // Bytes of the cached keys and values.
  int64_t bytes() const {
    int64_t b = 0;
    for (size_t l = 0; l < k.size(); ++l) b += 2 * capacity * row_elems * static_cast<int64_t>(sizeof(T));
    for (size_t l = 0; l < k16.size(); ++l) b += 2 * capacity * row_elems * 2;
    return b;
  }
  int64_t row_elems = 0;  // Hkv·D
};

}  // namespace peft
