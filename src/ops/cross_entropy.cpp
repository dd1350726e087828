#include "ops/cross_entropy.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/error.h"
#include "ops/matmul.h"
#include "ops/vec_exp.h"

namespace peft::ops {

namespace {

void check_args(const int32_t* targets, int64_t N, int64_t C, int64_t V, int64_t vocab_chunk) {
  if (N < 0 || C <= 0 || V <= 0) fail("cross_entropy", "bad shape: N " + std::to_string(N) + ", C " +
                                                           std::to_string(C) + ", V " + std::to_string(V));
  if (vocab_chunk <= 0) fail("cross_entropy", "vocab_chunk must be positive, got " + std::to_string(vocab_chunk));
  for (int64_t i = 0; i < N; ++i)
    if (targets[i] >= V)
      fail("cross_entropy", "target " + std::to_string(targets[i]) + " at row " + std::to_string(i) +
                                " is outside the vocabulary of " + std::to_string(V));
}

// One row's running log-sum-exp over a vocabulary chunk z [vc]: with the
// running max m and sum S = Σ exp(z − m) so far, m' = max(m, max z) and
// S' = S·exp(m − m') + Σ exp(z − m'). Returns the factor exp(m − m') the
// earlier sum was scaled by (0 before the first chunk), which the one-pass
// kernel also applies to its running gradient. z is left holding exp(z − m').
template <typename T>
double running_lse_update(T* z, int64_t vc, double& run_max, double& run_sum) {
  T cm = z[0];
#pragma omp simd reduction(max : cm)
  for (int64_t c = 1; c < vc; ++c) cm = z[c] > cm ? z[c] : cm;
  const double m_new = std::max(run_max, static_cast<double>(cm));
  const double rescale = run_sum == 0.0 ? 0.0 : std::exp(run_max - m_new);
  run_sum = run_sum * rescale + exp_shift_sum(z, vc, static_cast<T>(m_new));
  run_max = m_new;
  return rescale;
}

}  // namespace

// Forward, one vocabulary chunk [c0, c0 + vc) at a time:
//   z = h W[c0:c0+vc]ᵀ  [N, vc]   (gemm outside any parallel region: oneDNN threads it)
// then per row an online logsumexp: with running max m and running sum
// s = Σ exp(z − m) over the chunks seen so far, a chunk with max cm > m
// rescales s by exp(m − cm) before adding its own terms. The target's logit
// is picked up in whichever chunk holds it. Finally lse = m + log s and
// loss_i = lse_i − z_i[target_i].
template <typename T>
double linear_cross_entropy_forward(const T* h, std::type_identity_t<WeightRef<T>> W, const int32_t* targets, T* lse, int64_t N, int64_t C,
                                    int64_t V, int64_t vocab_chunk) {
  check_args(targets, N, C, V, vocab_chunk);
  if (N == 0) return 0.0;
  const int64_t chunk = std::min(vocab_chunk, V);
  std::vector<T> z(static_cast<size_t>(N * chunk));  // [N, vc]
  std::vector<double> run_max(N, -std::numeric_limits<double>::infinity()), run_sum(N, 0.0), tgt_logit(N, 0.0);
  for (int64_t c0 = 0; c0 < V; c0 += chunk) {
    const int64_t vc = std::min(chunk, V - c0);
    weight_rows_t<T>(h, N, C, W, c0, vc, z.data(), vc, T(0));
#pragma omp parallel for schedule(static) if (N * vc > 16384)
    for (int64_t i = 0; i < N; ++i) {
      T* zi = z.data() + i * vc;
      const int32_t t = targets[i];
      if (t >= c0 && t < c0 + vc) tgt_logit[i] = zi[t - c0];
      running_lse_update(zi, vc, run_max[i], run_sum[i]);
    }
  }
  // Per-row values summed in row order: the total is independent of threading.
  double total = 0;
  for (int64_t i = 0; i < N; ++i) {
    const double l = run_max[i] + std::log(run_sum[i]);
    lse[i] = static_cast<T>(l);
    if (targets[i] >= 0) total += l - tgt_logit[i];
  }
  return total;
}

// Backward, chunk by chunk again, recomputing the logits (nothing [N, V] is
// kept):  dz = grad_scale · (exp(z − lse) − onehot(target))  [Nc, vc]
//         dh += dz W[c0:c0+vc],   dW[c0:c0+vc] += dzᵀ h.
// Masked rows (target < 0) have dz = 0, so they are left out of the products
// altogether: the counted rows are gathered into a compact [Nc, C] block
// first (prompt tokens are often most of a batch in SFT) and their dh rows
// scattered back at the end; masked rows get dh = 0.
template <typename T>
void linear_cross_entropy_backward(const T* h, std::type_identity_t<WeightRef<T>> W, const int32_t* targets, const T* lse, T grad_scale, T* dh,
                                   T* dW, int64_t N, int64_t C, int64_t V, int64_t vocab_chunk) {
  check_args(targets, N, C, V, vocab_chunk);
  std::fill(dh, dh + N * C, T(0));
  std::vector<int64_t> rows;
  rows.reserve(static_cast<size_t>(N));
  for (int64_t i = 0; i < N; ++i)
    if (targets[i] >= 0) rows.push_back(i);
  const int64_t nc = static_cast<int64_t>(rows.size());
  if (nc == 0) return;
  const bool compact = nc < N;
  std::vector<T> hc, dhc;  // [nc, C] when compacting
  const T* hp = h;
  T* dhp = dh;
  if (compact) {
    hc.resize(static_cast<size_t>(nc * C));
    dhc.resize(static_cast<size_t>(nc * C));
    for (int64_t r = 0; r < nc; ++r) std::copy(h + rows[r] * C, h + (rows[r] + 1) * C, hc.data() + r * C);
    hp = hc.data();
    dhp = dhc.data();
  }
  const int64_t chunk = std::min(vocab_chunk, V);
  std::vector<T> dz(static_cast<size_t>(nc * chunk));  // [nc, vc]
  bool first = true;
  for (int64_t c0 = 0; c0 < V; c0 += chunk) {
    const int64_t vc = std::min(chunk, V - c0);
    weight_rows_t<T>(hp, nc, C, W, c0, vc, dz.data(), vc, T(0));
#pragma omp parallel for schedule(static) if (nc * vc > 16384)
    for (int64_t r = 0; r < nc; ++r) {
      const int64_t i = rows[r];
      T* zr = dz.data() + r * vc;
      exp_shift(zr, vc, lse[i]);
#pragma omp simd
      for (int64_t c = 0; c < vc; ++c) zr[c] *= grad_scale;
      const int32_t t = targets[i];
      if (t >= c0 && t < c0 + vc) zr[t - c0] -= grad_scale;
    }
    rows_weight<T>(dz.data(), vc, nc, W, c0, vc, C, dhp, first ? T(0) : T(1));
    if (dW) gemm<T>(true, false, vc, C, nc, T(1), dz.data(), vc, hp, C, T(1), dW + c0 * C, C);
    first = false;
  }
  if (compact)
    for (int64_t r = 0; r < nc; ++r) std::copy(dhc.data() + r * C, dhc.data() + (r + 1) * C, dh + rows[r] * C);
}

// One pass (see the header). Counted rows are gathered into a compact
// [nc, C] block as in the backward above. Per chunk [c0, c0 + vc):
//   z = hc W[c0:c0+vc]ᵀ                      [nc, vc]  (gemm, oneDNN threads it)
//   per row: m' = max(m, max z), a = exp(m − m'), s ← a·s + Σ exp(z − m'),
//            z ← exp(z − m'), acc ← a·acc                 (one parallel loop)
//   acc += z W[c0:c0+vc]                      [nc, C]   (gemm)
// and at the end lse = m + log s, dh = g · (acc / s − W[target]).
template <typename T>
double linear_cross_entropy_fused(const T* h, std::type_identity_t<WeightRef<T>> W, const int32_t* targets, T* lse, T grad_scale, T* dh,
                                  int64_t N, int64_t C, int64_t V, int64_t vocab_chunk) {
  check_args(targets, N, C, V, vocab_chunk);
  std::fill(dh, dh + N * C, T(0));
  std::vector<int64_t> rows;
  rows.reserve(static_cast<size_t>(N));
  for (int64_t i = 0; i < N; ++i)
    if (targets[i] >= 0) rows.push_back(i);
  const int64_t nc = static_cast<int64_t>(rows.size());
  if (nc == 0) return 0.0;
  std::vector<T> hc;  // [nc, C] when compacting
  const T* hp = h;
  if (nc < N) {
    hc.resize(static_cast<size_t>(nc * C));
    for (int64_t r = 0; r < nc; ++r) std::copy(h + rows[r] * C, h + (rows[r] + 1) * C, hc.data() + r * C);
    hp = hc.data();
  }
  std::vector<T> acc(static_cast<size_t>(nc * C), T(0));  // [nc, C] Σ exp(z − m) W
  const int64_t chunk = std::min(vocab_chunk, V);
  std::vector<T> z(static_cast<size_t>(nc * chunk));  // [nc, vc]
  std::vector<double> run_max(nc, -std::numeric_limits<double>::infinity()), run_sum(nc, 0.0), tgt_logit(nc, 0.0);
  bool first = true;
  for (int64_t c0 = 0; c0 < V; c0 += chunk) {
    const int64_t vc = std::min(chunk, V - c0);
    weight_rows_t<T>(hp, nc, C, W, c0, vc, z.data(), vc, T(0));
#pragma omp parallel for schedule(static) if (nc * vc > 16384)
    for (int64_t r = 0; r < nc; ++r) {
      T* zr = z.data() + r * vc;
      const int32_t t = targets[rows[r]];
      if (t >= c0 && t < c0 + vc) tgt_logit[r] = zr[t - c0];
      const double rescale = running_lse_update(zr, vc, run_max[r], run_sum[r]);
      if (!first && rescale != 1.0) {
        T* ar = acc.data() + r * C;
        const T a = static_cast<T>(rescale);
#pragma omp simd
        for (int64_t c = 0; c < C; ++c) ar[c] *= a;
      }
    }
    rows_weight<T>(z.data(), vc, nc, W, c0, vc, C, acc.data(), first ? T(0) : T(1));
    first = false;
  }
  double total = 0;
  for (int64_t r = 0; r < nc; ++r) {
    const double l = run_max[r] + std::log(run_sum[r]);
    lse[rows[r]] = static_cast<T>(l);
    total += l - tgt_logit[r];
  }
  // The targets' rows of W [nc, C] (widened when W is stored).
  std::vector<int32_t> trow(static_cast<size_t>(nc));
  for (int64_t r = 0; r < nc; ++r) trow[r] = targets[rows[r]];
  std::vector<T> wtr(static_cast<size_t>(nc * C));
  weight_gather_rows<T>(W, trow.data(), wtr.data(), nc, V, C);
#pragma omp parallel for schedule(static) if (nc * C > 65536)
  for (int64_t r = 0; r < nc; ++r) {
    const T inv = static_cast<T>(static_cast<double>(grad_scale) / run_sum[r]);
    const T* ar = acc.data() + r * C;
    const T* wt = wtr.data() + r * C;
    T* dr = dh + rows[r] * C;
#pragma omp simd
    for (int64_t c = 0; c < C; ++c) dr[c] = ar[c] * inv - grad_scale * wt[c];
  }
  return total;
}

template <typename T>
double linear_cross_entropy_ref(const T* h, const T* W, const int32_t* targets, int64_t N, int64_t C, int64_t V) {
  check_args(targets, N, C, V, 1);
  std::vector<double> z(static_cast<size_t>(V));
  double total = 0;
  for (int64_t i = 0; i < N; ++i) {
    if (targets[i] < 0) continue;
    double mx = -std::numeric_limits<double>::infinity();
    for (int64_t v = 0; v < V; ++v) {
      double acc = 0;
      for (int64_t c = 0; c < C; ++c) acc += static_cast<double>(h[i * C + c]) * W[v * C + c];
      z[v] = acc;
      mx = std::max(mx, acc);
    }
    double s = 0;
    for (int64_t v = 0; v < V; ++v) s += std::exp(z[v] - mx);
    total += mx + std::log(s) - z[targets[i]];
  }
  return total;
}

#define PEFT_INST(T)                                                                                          \
  template double linear_cross_entropy_forward<T>(const T*, WeightRef<T>, const int32_t*, T*, int64_t, int64_t,   \
                                                  int64_t, int64_t);                                          \
  template void linear_cross_entropy_backward<T>(const T*, WeightRef<T>, const int32_t*, const T*, T, T*, T*,     \
                                                 int64_t, int64_t, int64_t, int64_t);                         \
  template double linear_cross_entropy_fused<T>(const T*, WeightRef<T>, const int32_t*, T*, T, T*, int64_t, int64_t,     \
                                                int64_t, int64_t);                                            \
  template double linear_cross_entropy_ref<T>(const T*, const T*, const int32_t*, int64_t, int64_t, int64_t);
PEFT_INST(float)
PEFT_INST(double)
#undef PEFT_INST

}  // namespace peft::ops
