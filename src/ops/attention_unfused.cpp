// The unfused twin of the attention kernels: per (batch, head, query tile)
// the whole row of scores [64, Tk] through oneDNN's sgemm, the softmax
// between, and three more GEMM calls in backward. Kept as the reference the
// fused kernels (attention.cpp) are tested against, and for comparison in
// bench/. Same contract as attention_forward / attention_backward.
#include "ops/attention.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/error.h"
#include "ops/attention_mask.h"
#include "ops/matmul.h"
#include "ops/vec_exp.h"

namespace peft::ops {

namespace {

using namespace attn_detail;

void check_shape_unfused(const AttnShape& s, bool backward) {
  if (s.B <= 0 || s.Tq <= 0 || s.Tk < s.Tq || s.Hq <= 0 || s.Hkv <= 0 || s.D <= 0 || s.Hq % s.Hkv != 0)
    fail("attention", "bad shape: B " + std::to_string(s.B) + ", Tq " + std::to_string(s.Tq) + ", Tk " +
                          std::to_string(s.Tk) + ", Hq " + std::to_string(s.Hq) + ", Hkv " + std::to_string(s.Hkv) +
                          ", D " + std::to_string(s.D) + " (need Tk >= Tq > 0 and Hq a multiple of Hkv)");
  if (backward && s.Tq != s.Tk) fail("attention", "backward needs Tq == Tk (no KV cache in training)");
}

// Per-thread tile scratch, kept across calls: the OpenMP pool's threads live
// as long as the process, and re-allocating [64, Tk] buffers on every call
// shows up as page-fault time at these sizes.
template <typename T>
T* scratch(int slot, int64_t n) {
  thread_local std::vector<T> buf[2];
  if (static_cast<int64_t>(buf[slot].size()) < n) buf[slot].resize(static_cast<size_t>(n));
  return buf[slot].data();
}

// Turns one row of scores S[c] (key j = begin + c) into probabilities P in
// place, with P = 0 on masked keys. Returns lse = logsumexp over allowed keys
// (−inf when none is allowed, in which case the row is all zeros, not NaN).
template <typename T>
T softmax_row(T* S, int64_t n, int64_t begin, int64_t i, const Mask& m) {
  const int64_t lim = m.limit(i, begin, n);
  m.hide(S, lim, begin, i);
  T mx = -std::numeric_limits<T>::infinity();
#pragma omp simd reduction(max : mx)
  for (int64_t c = 0; c < lim; ++c) mx = S[c] > mx ? S[c] : mx;
  if (mx == -std::numeric_limits<T>::infinity()) {
    std::fill(S, S + n, T(0));
    return mx;
  }
  // exp(−inf − mx) = 0 takes care of hidden keys.
  const double sum = exp_shift_sum(S, lim, mx);
  std::fill(S + lim, S + n, T(0));
  const T inv = static_cast<T>(1.0 / sum);
#pragma omp simd
  for (int64_t c = 0; c < lim; ++c) S[c] *= inv;
  return static_cast<T>(static_cast<double>(mx) + std::log(sum));
}

}  // namespace

// Forward. Each task is (batch b, query head h, query tile): it owns its rows
// of out and lse, so tasks never share writes. Per tile:
//   S = scale · Q_tile K[begin:end]ᵀ  [rows, n]   (gemm straight from the
//   token-major layout: q rows are Hq·D apart, k/v rows Hkv·D apart)
//   P = softmax(S + mask), lse = logsumexp(S + mask),  O_tile = P V[begin:end]
// The gemm calls inside the parallel region run single-threaded in oneDNN.
template <typename T>
void attention_forward_unfused(const T* q, const T* k, const T* v, T* out, T* lse, const AttnShape& s) {
  check_shape_unfused(s, false);
  const int64_t nqb = (s.Tq + kBlockQ - 1) / kBlockQ;
  const int64_t rep = s.Hq / s.Hkv;
  const int64_t ldq = s.Hq * s.D, ldk = s.Hkv * s.D;
  const int64_t ntask = s.B * s.Hq * nqb;
#pragma omp parallel
  {
    T* scores = scratch<T>(0, kBlockQ * s.Tk);  // [rows, n]
#pragma omp for schedule(dynamic, 1)
    for (int64_t task = 0; task < ntask; ++task) {
      // Largest tiles first: the last query tile sees the most keys.
      const int64_t qb = nqb - 1 - task % nqb;
      const int64_t h = (task / nqb) % s.Hq;
      const int64_t b = task / (nqb * s.Hq);
      const int64_t g = h / rep;
      const int64_t i0 = qb * kBlockQ, i1 = std::min(s.Tq, i0 + kBlockQ), rows = i1 - i0;
      const Mask m = make_mask(s, b);
      int64_t begin, end;
      key_range(m, i0, i1, begin, end);
      const int64_t n = end - begin;
      T* lse_row = lse + (b * s.Hq + h) * s.Tq;
      T* op = out + ((b * s.Tq + i0) * s.Hq + h) * s.D;
      if (n == 0) {  // no row of the tile sees any key
        for (int64_t r = 0; r < rows; ++r) {
          lse_row[i0 + r] = -std::numeric_limits<T>::infinity();
          std::fill(op + r * ldq, op + r * ldq + s.D, T(0));
        }
        continue;
      }
      const T* qp = q + ((b * s.Tq + i0) * s.Hq + h) * s.D;
      const T* kp = k + ((b * s.Tk + begin) * s.Hkv + g) * s.D;
      const T* vp = v + ((b * s.Tk + begin) * s.Hkv + g) * s.D;
      T* S = scores;
      gemm<T>(false, true, rows, n, s.D, static_cast<T>(s.scale), qp, ldq, kp, ldk, T(0), S, n);
      for (int64_t r = 0; r < rows; ++r) lse_row[i0 + r] = softmax_row(S + r * n, n, begin, i0 + r, m);
      gemm<T>(false, false, rows, s.D, n, T(1), S, n, vp, ldk, T(0), op, ldq);
    }
  }
}

// Backward. dK and dV rows of kv head g are shared by the rep = Hq/Hkv query
// heads of its group and by every query tile, so tasks are built around
// (b, g): a task walks some of the query tiles of all heads of the group and
// accumulates dK/dV for that kv head only. Nobody else writes them, so there
// are no races and no atomics. When B·Hkv is smaller than the thread count,
// each (b, g) is split further into `split` tasks that take the query tiles
// round-robin (which also balances the causal triangle) and accumulate into
// private [Tk, D] partials, summed afterwards in a fixed order: the result
// depends only on shapes and thread count (DESIGN.md determinism).
// Per tile and head, recomputing the forward's probabilities from lse:
//   S = scale · Q Kᵀ,  P = exp(S − lse) on allowed keys,  Di = Σ_d dout·out
//   dP = dout Vᵀ,  dS = P ⊙ (dP − D)
//   dQ_tile = scale · dS K,  dK += scale · dSᵀ Q_tile,  dV += Pᵀ dout_tile
template <typename T>
void attention_backward_unfused(const T* q, const T* k, const T* v, const T* out, const T* dout, const T* lse, T* dq, T* dk,
                        T* dv, const AttnShape& s) {
  check_shape_unfused(s, true);
  const int64_t T_ = s.Tk;
  const int64_t nqb = (s.Tq + kBlockQ - 1) / kBlockQ;
  const int64_t rep = s.Hq / s.Hkv;
  const int64_t ldq = s.Hq * s.D, ldk = s.Hkv * s.D;
  const int64_t groups = s.B * s.Hkv;
  const int64_t threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  const int64_t split = std::clamp<int64_t>((threads + groups - 1) / groups, 1, nqb);
  const int64_t ntask = groups * split;
  // Partials [task, Tk, D] for dK and dV when split > 1.
  std::vector<T> part_k, part_v;
  if (split > 1) {
    part_k.assign(static_cast<size_t>(ntask * T_ * s.D), T(0));
    part_v.assign(static_cast<size_t>(ntask * T_ * s.D), T(0));
  } else {
    std::fill(dk, dk + s.B * T_ * ldk, T(0));
    std::fill(dv, dv + s.B * T_ * ldk, T(0));
  }
#pragma omp parallel
  {
    T* pbuf = scratch<T>(0, kBlockQ * T_);
    T* dpbuf = scratch<T>(1, kBlockQ * T_);
#pragma omp for schedule(dynamic, 1)
    for (int64_t task = 0; task < ntask; ++task) {
      const int64_t part = task % split;
      const int64_t bg = task / split;
      const int64_t b = bg / s.Hkv, g = bg % s.Hkv;
      const Mask m = make_mask(s, b);
      // Where this task's dK/dV accumulate: straight into dk/dv (row stride
      // Hkv·D) or into its private partial (row stride D).
      T *dk_base, *dv_base;
      int64_t ldacc;
      if (split > 1) {
        dk_base = part_k.data() + task * T_ * s.D;
        dv_base = part_v.data() + task * T_ * s.D;
        ldacc = s.D;
      } else {
        dk_base = dk + (b * T_ * s.Hkv + g) * s.D;
        dv_base = dv + (b * T_ * s.Hkv + g) * s.D;
        ldacc = ldk;
      }
      for (int64_t qb = part; qb < nqb; qb += split) {
        const int64_t i0 = qb * kBlockQ, i1 = std::min(s.Tq, i0 + kBlockQ), rows = i1 - i0;
        int64_t begin, end;
        key_range(m, i0, i1, begin, end);
        const int64_t n = end - begin;
        const T* kp = k + ((b * T_ + begin) * s.Hkv + g) * s.D;
        const T* vp = v + ((b * T_ + begin) * s.Hkv + g) * s.D;
        for (int64_t h = g * rep; h < (g + 1) * rep; ++h) {
          const int64_t row0 = (b * s.Tq + i0) * s.Hq + h;  // token-major row of (b, i0, h)
          if (n == 0) {  // no row sees a key: the outputs were constant zeros
            for (int64_t r = 0; r < rows; ++r) std::fill(dq + (row0 + r * s.Hq) * s.D, dq + (row0 + r * s.Hq) * s.D + s.D, T(0));
            continue;
          }
          const T* qp = q + row0 * s.D;
          const T* op = out + row0 * s.D;
          const T* dop = dout + row0 * s.D;
          const T* lse_row = lse + (b * s.Hq + h) * s.Tq;
          T* P = pbuf;   // [rows, n]
          T* dP = dpbuf;  // [rows, n], becomes dS
          gemm<T>(false, true, rows, n, s.D, static_cast<T>(s.scale), qp, ldq, kp, ldk, T(0), P, n);
          gemm<T>(false, true, rows, n, s.D, T(1), dop, ldq, vp, ldk, T(0), dP, n);
          for (int64_t r = 0; r < rows; ++r) {
            const int64_t i = i0 + r;
            T* Pr = P + r * n;
            T* dPr = dP + r * n;
            const T l = lse_row[i];
            const int64_t lim = m.limit(i, begin, n);
            if (l == -std::numeric_limits<T>::infinity()) {  // fully masked row: no gradient
              std::fill(Pr, Pr + n, T(0));
              std::fill(dPr, dPr + n, T(0));
              continue;
            }
            m.hide(Pr, lim, begin, i);
            exp_shift(Pr, lim, l);
            std::fill(Pr + lim, Pr + n, T(0));
            double di = 0;
            for (int64_t d = 0; d < s.D; ++d)
              di += static_cast<double>(dop[r * ldq + d]) * op[r * ldq + d];
            const T dit = static_cast<T>(di);
#pragma omp simd
            for (int64_t c = 0; c < n; ++c) dPr[c] = Pr[c] * (dPr[c] - dit);
          }
          const T sc = static_cast<T>(s.scale);
          gemm<T>(false, false, rows, s.D, n, sc, dP, n, kp, ldk, T(0), dq + row0 * s.D, ldq);
          gemm<T>(true, false, n, s.D, rows, sc, dP, n, qp, ldq, T(1), dk_base + begin * ldacc, ldacc);
          gemm<T>(true, false, n, s.D, rows, T(1), P, n, dop, ldq, T(1), dv_base + begin * ldacc, ldacc);
        }
      }
    }
  }
  if (split > 1) {
    // dk[b, j, g, :] = Σ_part partial[(b·Hkv + g)·split + part][j, :], in part order.
#pragma omp parallel for schedule(static)
    for (int64_t bj = 0; bj < s.B * T_; ++bj) {
      const int64_t b = bj / T_, j = bj % T_;
      for (int64_t g = 0; g < s.Hkv; ++g) {
        T* dkr = dk + (bj * s.Hkv + g) * s.D;
        T* dvr = dv + (bj * s.Hkv + g) * s.D;
        std::fill(dkr, dkr + s.D, T(0));
        std::fill(dvr, dvr + s.D, T(0));
        for (int64_t p = 0; p < split; ++p) {
          const int64_t off = (((b * s.Hkv + g) * split + p) * T_ + j) * s.D;
          for (int64_t d = 0; d < s.D; ++d) {
            dkr[d] += part_k[off + d];
            dvr[d] += part_v[off + d];
          }
        }
      }
    }
  }
}

#define PEFT_INST(T)                                                                                             \
  template void attention_forward_unfused<T>(const T*, const T*, const T*, T*, T*, const AttnShape&);           \
  template void attention_backward_unfused<T>(const T*, const T*, const T*, const T*, const T*, const T*, T*, T*, \
                                              T*, const AttnShape&);
PEFT_INST(float)
PEFT_INST(double)
#undef PEFT_INST

}  // namespace peft::ops
