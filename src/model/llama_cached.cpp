// Generation's forward: tokens appended to a KV cache, logits of the last.
//
// The same layer as training's (model/llama.h), computed for the n new
// tokens only:
//   xn = rmsnorm(x)·w_attn;  q, k, v = xn Wqᵀ, xn Wkᵀ, xn Wvᵀ  [n, Hq·D], [n, Hkv·D]
//   q, k = rope(q), rope(k) at positions p0 .. p0+n-1; k, v appended to the cache
//   x += attention(q, cache k, cache v) Woᵀ;  x += swiglu(xn2 Wgᵀ, xn2 Wuᵀ) Wdᵀ
// A prompt goes through as one batch of n rows (GEMMs); a decode step is
// n = 1, where every linear layer is a matrix-vector product that streams
// its weight once (ops/gemv.h, reached through ops::gemm). Rope's cos/sin are
// computed once per call for all layers, and every buffer lives in the
// cache's grow-only scratch.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "core/error.h"
#include "model/llama.h"
#include "ops/weight_ops.h"
#include "ops/attention_cached.h"
#include "ops/embedding.h"
#include "ops/matmul.h"
#include "ops/rmsnorm.h"
#include "ops/rope.h"
#include "ops/swiglu.h"

namespace peft {

DType parse_kv_dtype(const std::string& name) {
  if (name == "f32") return DType::F32;
  if (name == "bf16") return DType::BF16;
  fail("generate", "unknown --kv-dtype '" + name + "' (use f32 or bf16)");
}

namespace {

template <typename T>
void add_rows(T* y, const T* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += x[i];
}

// Rotates heads [tokens, heads, hd] by the tables cs/sn [tokens, half]:
// (a, b) -> (a cos − b sin, a sin + b cos), the pairs of ops/rope.h's style.
template <typename T>
void rotate(T* x, const T* cs, const T* sn, int64_t tokens, int64_t heads, int64_t hd, int64_t half,
            ops::RopeStyle style) {
  for (int64_t t = 0; t < tokens; ++t) {
    const T* c = cs + t * half;
    const T* s = sn + t * half;
    for (int64_t h = 0; h < heads; ++h) {
      T* xh = x + (t * heads + h) * hd;
      const int64_t stride = style == ops::RopeStyle::Interleaved ? 2 : 1;
      const int64_t off = style == ops::RopeStyle::Interleaved ? 1 : half;
      for (int64_t i = 0; i < half; ++i) {
        T* pa = xh + i * stride;
        T* pb = pa + off;
        const T a = *pa, b = *pb;
        *pa = a * c[i] - b * s[i];
        *pb = a * s[i] + b * c[i];
      }
    }
  }
}

}  // namespace

template <typename T>
KvCache<T> LlamaModel<T>::make_cache(int64_t capacity, DType kv_dtype) const {
  if (capacity <= 0) fail("generate", "the KV cache needs room for at least one token");
  if (kv_dtype != DType::F32 && kv_dtype != DType::BF16)
    fail("generate", std::string("a KV cache cannot be stored as ") + dtype_name(kv_dtype));
  if (kv_dtype == DType::BF16 && !std::is_same_v<T, float>)
    fail("generate", "a bf16 KV cache needs an f32 model");
  KvCache<T> kc;
  kc.capacity = capacity;
  kc.dtype = kv_dtype;
  kc.row_elems = cfg.kv_dim();
  kc.work.inv_freq = cfg.rope_spec().inv_freq();
  for (int64_t l = 0; l < cfg.n_layers; ++l) {
    if (kv_dtype == DType::F32) {
      kc.k.push_back(aligned_alloc_zeroed<T>(capacity * cfg.kv_dim()));
      kc.v.push_back(aligned_alloc_zeroed<T>(capacity * cfg.kv_dim()));
    } else {
      kc.k16.push_back(aligned_alloc_zeroed<uint16_t>(capacity * cfg.kv_dim()));
      kc.v16.push_back(aligned_alloc_zeroed<uint16_t>(capacity * cfg.kv_dim()));
    }
  }
  return kc;
}

template <typename T>
void LlamaModel<T>::forward_cached(KvCache<T>& cache, const int32_t* tokens, int64_t n, T* last_logits) {
  if (n <= 0) fail("model", "no tokens to feed");
  if (cache.length + n > cache.capacity)
    fail("model", "sequence of " + std::to_string(cache.length + n) + " tokens exceeds the cache of " +
                      std::to_string(cache.capacity));
  const bool bf16 = cache.dtype == DType::BF16;
  if (static_cast<int64_t>(bf16 ? cache.k16.size() : cache.k.size()) != cfg.n_layers)
    fail("model", "the KV cache was made for another model");
  for (int64_t i = 0; i < n; ++i)
    if (tokens[i] < 0 || tokens[i] >= cfg.vocab_size)
      fail("model", "token id " + std::to_string(tokens[i]) + " is outside the vocabulary");
  auto& w = cache.work;
  const int64_t dim = cfg.dim, qd = cfg.q_dim(), kvd = cfg.kv_dim(), hid = cfg.hidden_dim, D = cfg.head_dim;
  const int64_t p0 = cache.length;

  // Rope tables for the n positions, shared by every layer; angles in double
  // then cast, as ops::rope_forward computes them.
  const ops::RopeSpec rope = cfg.rope_spec();
  const std::vector<double>& inv = w.inv_freq;
  const int64_t half = static_cast<int64_t>(inv.size());
  T* cs = w.cos.get(n * half);
  T* sn = w.sin.get(n * half);
  for (int64_t t = 0; t < n; ++t)
    for (int64_t i = 0; i < half; ++i) {
      const double ang = static_cast<double>(p0 + t) * inv[i];
      cs[t * half + i] = static_cast<T>(std::cos(ang));
      sn[t * half + i] = static_cast<T>(std::sin(ang));
    }

  ops::CachedAttnShape as;
  as.n = n;
  as.p0 = p0;
  as.Hq = cfg.n_heads;
  as.Hkv = cfg.n_kv_heads;
  as.D = D;
  as.scale = 1.0 / std::sqrt(static_cast<double>(D));

  T* x = w.x.get(n * dim);
  T* xn = w.xn.get(n * dim);
  T* out = w.out.get(n * dim);
  T* q = w.q.get(n * qd);
  T* att = w.att.get(n * qd);
  T* g = w.g.get(n * hid);
  T* u = w.u.get(n * hid);
  T* h = w.h.get(n * hid);
  T* rstd = w.rstd.get(n * std::max(cfg.n_heads, cfg.n_kv_heads));
  ops::weight_gather_rows<T>(tok_embd.weight(), tokens, x, n, cfg.vocab_size, dim);
  for (int64_t l = 0; l < cfg.n_layers; ++l) {
    LlamaLayer<T>& L = layers[l];
    // Keys and values go straight into an f32 cache; a bf16 cache gets them
    // rounded from scratch after rope.
    T* k = bf16 ? w.k.get(n * kvd) : cache.k[l].get() + p0 * kvd;
    T* v = bf16 ? w.v.get(n * kvd) : cache.v[l].get() + p0 * kvd;
    ops::rmsnorm_forward<T>(x, L.attn_norm.data.get(), xn, rstd, n, dim, cfg.norm_eps);
    L.wq.forward(xn, q, n, false);
    L.wk.forward(xn, k, n, false);
    L.wv.forward(xn, v, n, false);
    if (cfg.qk_norm) {  // Qwen3: RMSNorm over each head's D values, before rope
      T* qr = w.qr.get(n * qd);
      T* kr = w.kr.get(n * kvd);
      std::memcpy(qr, q, sizeof(T) * n * qd);
      std::memcpy(kr, k, sizeof(T) * n * kvd);
      ops::rmsnorm_forward<T>(qr, L.q_norm.data.get(), q, rstd, n * cfg.n_heads, D, cfg.norm_eps);
      ops::rmsnorm_forward<T>(kr, L.k_norm.data.get(), k, rstd, n * cfg.n_kv_heads, D, cfg.norm_eps);
    }
    rotate(q, cs, sn, n, cfg.n_heads, D, half, rope.style);
    rotate(k, cs, sn, n, cfg.n_kv_heads, D, half, rope.style);
    if constexpr (std::is_same_v<T, float>) {
      if (bf16) {
        uint16_t* kc = cache.k16[l].get() + p0 * kvd;
        uint16_t* vc = cache.v16[l].get() + p0 * kvd;
        for (int64_t i = 0; i < n * kvd; ++i) {
          kc[i] = f32_to_bf16(k[i]);
          vc[i] = f32_to_bf16(v[i]);
        }
        ops::attention_cached<float, uint16_t>(q, cache.k16[l].get(), cache.v16[l].get(), att, as);
      } else {
        ops::attention_cached<float, float>(q, cache.k[l].get(), cache.v[l].get(), att, as);
      }
    } else {
      ops::attention_cached<T, T>(q, cache.k[l].get(), cache.v[l].get(), att, as);
    }
    L.wo.forward(att, out, n, false);
    add_rows(x, out, n * dim);
    ops::rmsnorm_forward<T>(x, L.ffn_norm.data.get(), xn, rstd, n, dim, cfg.norm_eps);
    L.w_gate.forward(xn, g, n, false);
    L.w_up.forward(xn, u, n, false);
    ops::swiglu_forward<T>(g, u, h, n * hid);
    L.w_down.forward(h, out, n, false);
    add_rows(x, out, n * dim);
  }
  cache.length += n;
  ops::rmsnorm_forward<T>(x + (n - 1) * dim, out_norm.data.get(), xn, rstd, 1, dim, cfg.norm_eps);
  ops::weight_rows_t<T>(xn, 1, dim, output_weight(), 0, cfg.vocab_size, last_logits, cfg.vocab_size, T(0));
}

template KvCache<float> LlamaModel<float>::make_cache(int64_t, DType) const;
template KvCache<double> LlamaModel<double>::make_cache(int64_t, DType) const;
template void LlamaModel<float>::forward_cached(KvCache<float>&, const int32_t*, int64_t, float*);
template void LlamaModel<double>::forward_cached(KvCache<double>&, const int32_t*, int64_t, double*);

}  // namespace peft
