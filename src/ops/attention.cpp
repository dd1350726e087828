// Fused attention: one forward and one backward kernel per (batch, head,
// query tile), flash style. Scores are computed a key block at a time into a
// [64, 64] tile that stays in L1, masked, turned into probabilities with the
// vectorised exp and multiplied into the output in the same pass; nothing
// larger than a tile is ever written, and no library GEMM is called (the tile
// products are ops/small_gemm's register-blocked kernel). The GEMM-based
// twin, attention_unfused.cpp, is the reference the tests compare against.
#include "ops/attention.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/error.h"
#include "ops/attention_mask.h"
#include "ops/small_gemm.h"
#include "ops/vec_exp.h"

namespace peft::ops {

namespace {

using namespace attn_detail;

// Keys per block: a [kBlockQ, kBlockK] score tile is 16 KiB in float.
constexpr int64_t kBlockK = 64;

void check_shape(const AttnShape& s, bool backward) {
  if (s.B <= 0 || s.Tq <= 0 || s.Tk < s.Tq || s.Hq <= 0 || s.Hkv <= 0 || s.D <= 0 || s.Hq % s.Hkv != 0)
    fail("attention", "bad shape: B " + std::to_string(s.B) + ", Tq " + std::to_string(s.Tq) + ", Tk " +
                          std::to_string(s.Tk) + ", Hq " + std::to_string(s.Hq) + ", Hkv " + std::to_string(s.Hkv) +
                          ", D " + std::to_string(s.D) + " (need Tk >= Tq > 0 and Hq a multiple of Hkv)");
  if (backward && s.Tq != s.Tk) fail("attention", "backward needs Tq == Tk (no KV cache in training)");
}

// Per-thread tiles, kept across calls (the OpenMP threads live as long as
// the process): the sizes depend only on D, so after the first call nothing
// is allocated. Score tiles are KEY-major, [n keys, R query rows]: the
// softmax statistics of a query row are then a column, and every step of the
// online softmax (column max, exp, column sums, rescaling) runs across query
// rows in SIMD lanes with no horizontal reduction; the products read the
// transposed tile through small_gemm's A strides, so nothing is transposed
// per key block.
template <typename T>
struct Tiles {
  std::vector<T> qt, dot;         // [D, kBlockQ]: scale·Qᵀ and doutᵀ of the tile
  std::vector<T> o;               // [kBlockQ, D]: output / dQ accumulator
  std::vector<T> st, dpt;         // [kBlockK, kBlockQ]: scores/probabilities, dP/dS
  std::vector<T> m, l, mu, alpha, lsum, di;  // [kBlockQ] per query row
  std::vector<int32_t> segq;      // [kBlockQ] segment of each query row
  void fit(int64_t D) {
    const auto qd = static_cast<size_t>(kBlockQ * D), qk = static_cast<size_t>(kBlockQ * kBlockK);
    if (o.size() >= qd) return;
    qt.resize(qd), dot.resize(qd), o.resize(qd);
    st.resize(qk), dpt.resize(qk);
    for (auto* v : {&m, &l, &mu, &alpha, &lsum, &di}) v->resize(kBlockQ);
    segq.resize(kBlockQ);
  }
};
template <typename T>
Tiles<T>& tiles(int64_t D) {
  thread_local Tiles<T> t;
  t.fit(D);
  return t;
}

inline float exp_of(float x) { return exp_fast(x); }  // −inf → 0
inline double exp_of(double x) { return std::exp(x); }

constexpr float neg_inf(float) { return -std::numeric_limits<float>::infinity(); }
constexpr double neg_inf(double) { return -std::numeric_limits<double>::infinity(); }

// Hides, in the key-major tile St [n, R] of keys j0.. and query rows i0..,
// every (key, query) pair the mask forbids: padded keys (whole row),
// keys after the query under the causal rule (a prefix of the row: query r
// sees key j iff q_off + i0 + r ≥ j), and keys of another packing segment.
template <typename T>
void mask_tile(T* St, int64_t n, int64_t R, int64_t j0, int64_t i0, const Mask& m, const int32_t* segq) {
  const T ninf = neg_inf(T());
  for (int64_t c = 0; c < n; ++c) {
    const int64_t j = j0 + c;
    T* row = St + c * R;
    if (m.keep && m.keep[j] == 0) {
      std::fill(row, row + R, ninf);
      continue;
    }
    int64_t first = 0;
    if (m.causal) {
      first = std::clamp<int64_t>(j - m.q_off - i0, 0, R);
      std::fill(row, row + first, ninf);
    }
    if (m.seg) {
      const int32_t sj = m.seg[j];
#pragma omp simd
      for (int64_t r = first; r < R; ++r) row[r] = segq[r] == sj ? row[r] : ninf;
    }
  }
}

// Scale·Qᵀ [D, R] of the tile's query rows (row stride ldq), and their segment ids.
template <typename T>
void load_queries(Tiles<T>& w, const T* qp, int64_t ldq, int64_t R, int64_t D, T scale, const Mask& m, int64_t i0) {
  for (int64_t r = 0; r < R; ++r)
    for (int64_t d = 0; d < D; ++d) w.qt[d * R + r] = scale * qp[r * ldq + d];
  if (m.seg)
    for (int64_t r = 0; r < R; ++r) w.segq[r] = m.seg[m.q_off + i0 + r];
}

// Forward of one (b, h, query tile); Qs = scale · Q. Per key block:
//   Sᵀ = K Qsᵀ  [n, R],  m' = max(m, column max),  P = exp(Sᵀ − m'),
//   l ← e^(m − m')·l + Σ_keys P,  O ← e^(m − m')·O + P V,  m ← m'
// and at the end out = O / l, lse = m + log l (rows that saw no key: out 0,
// lse −inf).
template <typename T>
void forward_tile(const T* q, const T* k, const T* v, T* out, T* lse, const AttnShape& s, int64_t b, int64_t h,
                  int64_t qb) {
  const int64_t D = s.D, ldq = s.Hq * D, ldk = s.Hkv * D, g = h / (s.Hq / s.Hkv);
  const int64_t i0 = qb * kBlockQ, i1 = std::min(s.Tq, i0 + kBlockQ), R = i1 - i0;
  const Mask m = make_mask(s, b);
  int64_t begin, end;
  key_range(m, i0, i1, begin, end);
  T* lse_row = lse + (b * s.Hq + h) * s.Tq + i0;
  T* op = out + ((b * s.Tq + i0) * s.Hq + h) * D;
  const T ninf = neg_inf(T());
  if (begin == end) {  // no row of the tile sees any key
    for (int64_t r = 0; r < R; ++r) {
      lse_row[r] = ninf;
      std::fill(op + r * ldq, op + r * ldq + D, T(0));
    }
    return;
  }
  Tiles<T>& w = tiles<T>(D);
  load_queries(w, q + ((b * s.Tq + i0) * s.Hq + h) * D, ldq, R, D, static_cast<T>(s.scale), m, i0);
  std::fill(w.o.begin(), w.o.begin() + R * D, T(0));
  std::fill(w.m.begin(), w.m.begin() + R, ninf);
  std::fill(w.l.begin(), w.l.begin() + R, T(0));
  T* mm = w.m.data();
  T* ll = w.l.data();
  T* mu = w.mu.data();
  T* al = w.alpha.data();
  T* ls = w.lsum.data();
  for (int64_t j0 = begin; j0 < end; j0 += kBlockK) {
    const int64_t n = std::min(kBlockK, end - j0);
    const T* kp = k + ((b * s.Tk + j0) * s.Hkv + g) * D;
    const T* vp = v + ((b * s.Tk + j0) * s.Hkv + g) * D;
    T* St = w.st.data();
    small_gemm(n, R, D, kp, ldk, 1, w.qt.data(), R, St, R, false);
    mask_tile(St, n, R, j0, i0, m, w.segq.data());
    // Column maxima against the running max; mu is the shift actually used
    // (0 while a row has seen nothing, so −inf − −inf never happens).
    std::copy(mm, mm + R, mu);
    for (int64_t c = 0; c < n; ++c) {
      const T* row = St + c * R;
#pragma omp simd
      for (int64_t r = 0; r < R; ++r) mu[r] = row[r] > mu[r] ? row[r] : mu[r];
    }
#pragma omp simd
    for (int64_t r = 0; r < R; ++r) {
      const T mnew = mu[r];
      mu[r] = mnew == ninf ? T(0) : mnew;
      al[r] = exp_of(mm[r] - mu[r]);  // 0 while the row had seen nothing
      mm[r] = mnew;
      ls[r] = T(0);
    }
    for (int64_t c = 0; c < n; ++c) {
      T* row = St + c * R;
#pragma omp simd
      for (int64_t r = 0; r < R; ++r) {
        const T e = exp_of(row[r] - mu[r]);
        row[r] = e;
        ls[r] += e;
      }
    }
    for (int64_t r = 0; r < R; ++r) {
      ll[r] = ll[r] * al[r] + ls[r];
      if (al[r] != T(1)) {
        T* orow = w.o.data() + r * D;
        const T a = al[r];
#pragma omp simd
        for (int64_t d = 0; d < D; ++d) orow[d] *= a;
      }
    }
    // O [R, D] += P V: A(r, c) = Sᵀ[c, r], read through strides (1, R).
    small_gemm(R, D, n, St, 1, R, vp, ldk, w.o.data(), D, true);
  }
  for (int64_t r = 0; r < R; ++r) {
    T* orow = op + r * ldq;
    if (ll[r] == T(0)) {
      lse_row[r] = ninf;
      std::fill(orow, orow + D, T(0));
      continue;
    }
    lse_row[r] = static_cast<T>(static_cast<double>(mm[r]) + std::log(static_cast<double>(ll[r])));
    const T inv = T(1) / ll[r];
    const T* src = w.o.data() + r * D;
#pragma omp simd
    for (int64_t d = 0; d < D; ++d) orow[d] = src[d] * inv;
  }
}

// Backward of one (b, h, query tile), recomputing each key block's
// probabilities from lse (Qs = scale · Q, everything key-major):
//   Sᵀ = K Qsᵀ,  Pᵀ = exp(Sᵀ − lse) on visible pairs,  dPᵀ = V doutᵀ,
//   dS'ᵀ = scale · Pᵀ ⊙ (dPᵀ − Di),  Di = Σ_d dout·out
//   dQ += dS' K,  dK_block += dS'ᵀ Q,  dV_block += Pᵀ dout
// (scale is folded into dS', so dQ = scale·dS·K and dK = scale·dSᵀ·Q come out
// directly). dK and dV rows go to dk_base / dv_base (row stride ldacc),
// which belong to the calling task alone.
template <typename T>
void backward_tile(const T* q, const T* k, const T* v, const T* out, const T* dout, const T* lse, T* dq, T* dk_base,
                   T* dv_base, int64_t ldacc, const AttnShape& s, int64_t b, int64_t h, int64_t qb) {
  const int64_t D = s.D, ldq = s.Hq * D, ldk = s.Hkv * D, g = h / (s.Hq / s.Hkv);
  const int64_t i0 = qb * kBlockQ, i1 = std::min(s.Tq, i0 + kBlockQ), R = i1 - i0;
  const Mask m = make_mask(s, b);
  int64_t begin, end;
  key_range(m, i0, i1, begin, end);
  const int64_t row0 = (b * s.Tq + i0) * s.Hq + h;  // token-major row of (b, i0, h)
  T* dqp = dq + row0 * D;
  if (begin == end) {  // the outputs were constant zeros
    for (int64_t r = 0; r < R; ++r) std::fill(dqp + r * ldq, dqp + r * ldq + D, T(0));
    return;
  }
  Tiles<T>& w = tiles<T>(D);
  const T scale = static_cast<T>(s.scale);
  const T* qp = q + row0 * D;
  const T* op = out + row0 * D;
  const T* dop = dout + row0 * D;
  const T* lse_row = lse + (b * s.Hq + h) * s.Tq + i0;
  load_queries(w, qp, ldq, R, D, scale, m, i0);
  T* mu = w.mu.data();  // the shift: lse, or +inf for a row that saw nothing (P = 0)
  T* di = w.di.data();
  for (int64_t r = 0; r < R; ++r) {
    double acc = 0;
    for (int64_t d = 0; d < D; ++d) {
      w.dot[d * R + r] = dop[r * ldq + d];
      acc += static_cast<double>(dop[r * ldq + d]) * op[r * ldq + d];
    }
    di[r] = static_cast<T>(acc);
    mu[r] = lse_row[r] == neg_inf(T()) ? std::numeric_limits<T>::infinity() : lse_row[r];
  }
  std::fill(w.o.begin(), w.o.begin() + R * D, T(0));
  for (int64_t j0 = begin; j0 < end; j0 += kBlockK) {
    const int64_t n = std::min(kBlockK, end - j0);
    const T* kp = k + ((b * s.Tk + j0) * s.Hkv + g) * D;
    const T* vp = v + ((b * s.Tk + j0) * s.Hkv + g) * D;
    T* Pt = w.st.data();    // [n, R]
    T* dPt = w.dpt.data();  // [n, R], becomes dS'ᵀ
    small_gemm(n, R, D, kp, ldk, 1, w.qt.data(), R, Pt, R, false);
    small_gemm(n, R, D, vp, ldk, 1, w.dot.data(), R, dPt, R, false);
    mask_tile(Pt, n, R, j0, i0, m, w.segq.data());
    for (int64_t c = 0; c < n; ++c) {
      T* prow = Pt + c * R;
      T* drow = dPt + c * R;
#pragma omp simd
      for (int64_t r = 0; r < R; ++r) {
        const T p = exp_of(prow[r] - mu[r]);
        prow[r] = p;
        drow[r] = scale * p * (drow[r] - di[r]);
      }
    }
    small_gemm(R, D, n, dPt, 1, R, kp, ldk, w.o.data(), D, true);            // dQ += dS' K
    small_gemm(n, D, R, dPt, R, 1, qp, ldq, dk_base + j0 * ldacc, ldacc, true);  // dK += dS'ᵀ Q
    small_gemm(n, D, R, Pt, R, 1, dop, ldq, dv_base + j0 * ldacc, ldacc, true);  // dV += Pᵀ dout
  }
  for (int64_t r = 0; r < R; ++r) std::copy(w.o.data() + r * D, w.o.data() + (r + 1) * D, dqp + r * ldq);
}

}  // namespace

// Tasks are (b, h, query tile); each owns its rows of out and lse. Largest
// tiles (most keys, under the causal limit) first, one parallel region per call.
template <typename T>
void attention_forward(const T* q, const T* k, const T* v, T* out, T* lse, const AttnShape& s) {
  check_shape(s, false);
  const int64_t nqb = (s.Tq + kBlockQ - 1) / kBlockQ;
  const int64_t ntask = s.B * s.Hq * nqb;
#pragma omp parallel for schedule(dynamic, 1) if (ntask > 1)
  for (int64_t task = 0; task < ntask; ++task) {
    const int64_t qb = nqb - 1 - task % nqb;
    const int64_t h = (task / nqb) % s.Hq;
    const int64_t b = task / (nqb * s.Hq);
    forward_tile(q, k, v, out, lse, s, b, h, qb);
  }
}

// dK and dV rows of kv head g are shared by the Hq/Hkv query heads of its
// group and by every query tile, so tasks are built around (b, g): a task
// walks some of the query tiles of all heads of the group and accumulates
// dK/dV for that kv head only; nobody else writes them (no atomics). When
// B·Hkv is below the thread count, each (b, g) is split into `split` tasks
// that take the query tiles round-robin (which also balances the causal
// triangle) into private [Tk, D] partials, summed afterwards in a fixed
// order: the result depends only on shapes and thread count.
template <typename T>
void attention_backward(const T* q, const T* k, const T* v, const T* out, const T* dout, const T* lse, T* dq, T* dk,
                        T* dv, const AttnShape& s) {
  check_shape(s, true);
  const int64_t T_ = s.Tk, D = s.D;
  const int64_t nqb = (s.Tq + kBlockQ - 1) / kBlockQ;
  const int64_t rep = s.Hq / s.Hkv;
  const int64_t ldk = s.Hkv * D;
  const int64_t groups = s.B * s.Hkv;
  const int64_t threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  const int64_t split = std::clamp<int64_t>((threads + groups - 1) / groups, 1, nqb);
  const int64_t ntask = groups * split;
  std::vector<T> part_k, part_v;  // [task, Tk, D] when split > 1
  if (split > 1) {
    part_k.assign(static_cast<size_t>(ntask * T_ * D), T(0));
    part_v.assign(static_cast<size_t>(ntask * T_ * D), T(0));
  } else {
    std::fill(dk, dk + s.B * T_ * ldk, T(0));
    std::fill(dv, dv + s.B * T_ * ldk, T(0));
  }
#pragma omp parallel for schedule(dynamic, 1) if (ntask > 1)
  for (int64_t task = 0; task < ntask; ++task) {
    const int64_t part = task % split;
    const int64_t bg = task / split;
    const int64_t b = bg / s.Hkv, g = bg % s.Hkv;
    T *dk_base, *dv_base;
    int64_t ldacc;
    if (split > 1) {
      dk_base = part_k.data() + task * T_ * D;
      dv_base = part_v.data() + task * T_ * D;
      ldacc = D;
    } else {
      dk_base = dk + (b * T_ * s.Hkv + g) * D;
      dv_base = dv + (b * T_ * s.Hkv + g) * D;
      ldacc = ldk;
    }
    for (int64_t qb = part; qb < nqb; qb += split)
      for (int64_t h = g * rep; h < (g + 1) * rep; ++h)
        backward_tile(q, k, v, out, dout, lse, dq, dk_base, dv_base, ldacc, s, b, h, qb);
  }
  if (split > 1) {
    // dk[b, j, g, :] = Σ_part partial[(b·Hkv + g)·split + part][j, :], in part order.
#pragma omp parallel for schedule(static)
    for (int64_t bj = 0; bj < s.B * T_; ++bj) {
      const int64_t b = bj / T_, j = bj % T_;
      for (int64_t g = 0; g < s.Hkv; ++g) {
        T* dkr = dk + (bj * s.Hkv + g) * D;
        T* dvr = dv + (bj * s.Hkv + g) * D;
        std::fill(dkr, dkr + D, T(0));
        std::fill(dvr, dvr + D, T(0));
        for (int64_t p = 0; p < split; ++p) {
          const int64_t off = (((b * s.Hkv + g) * split + p) * T_ + j) * D;
          for (int64_t d = 0; d < D; ++d) {
            dkr[d] += part_k[off + d];
            dvr[d] += part_v[off + d];
          }
        }
      }
    }
  }
}

template <typename T>
void attention_forward_ref(const T* q, const T* k, const T* v, T* out, const AttnShape& s) {
  check_shape(s, false);
  const int64_t rep = s.Hq / s.Hkv;
  std::vector<double> p(static_cast<size_t>(s.Tk));
  for (int64_t b = 0; b < s.B; ++b) {
    const Mask m = make_mask(s, b);
    for (int64_t h = 0; h < s.Hq; ++h) {
      const int64_t g = h / rep;
      for (int64_t i = 0; i < s.Tq; ++i) {
        const T* qi = q + ((b * s.Tq + i) * s.Hq + h) * s.D;
        double mx = -std::numeric_limits<double>::infinity();
        for (int64_t j = 0; j < s.Tk; ++j) {
          const T* kj = k + ((b * s.Tk + j) * s.Hkv + g) * s.D;
          double dot = 0;
          for (int64_t d = 0; d < s.D; ++d) dot += static_cast<double>(qi[d]) * kj[d];
          p[j] = m.allowed(i, j) ? s.scale * dot : -std::numeric_limits<double>::infinity();
          mx = std::max(mx, p[j]);
        }
        double sum = 0;
        for (int64_t j = 0; j < s.Tk; ++j) {
          p[j] = mx == -std::numeric_limits<double>::infinity() ? 0.0 : std::exp(p[j] - mx);
          sum += p[j];
        }
        T* oi = out + ((b * s.Tq + i) * s.Hq + h) * s.D;
        for (int64_t d = 0; d < s.D; ++d) {
          double acc = 0;
          for (int64_t j = 0; j < s.Tk; ++j) acc += p[j] * v[((b * s.Tk + j) * s.Hkv + g) * s.D + d];
          oi[d] = static_cast<T>(sum > 0 ? acc / sum : 0.0);
        }
      }
    }
  }
}

#define PEFT_INST(T)                                                                                             \
  template void attention_forward<T>(const T*, const T*, const T*, T*, T*, const AttnShape&);                   \
  template void attention_backward<T>(const T*, const T*, const T*, const T*, const T*, const T*, T*, T*, T*, \
                                      const AttnShape&);                                                         \
  template void attention_forward_ref<T>(const T*, const T*, const T*, T*, const AttnShape&);
PEFT_INST(float)
PEFT_INST(double)
#undef PEFT_INST

}  // namespace peft::ops
