// Fused attention (ops/attention.cpp) against its GEMM-based twin
// (attention_unfused.cpp) at the benchmark shapes, forward and backward,
// on the threads OpenMP is given. Best of a few runs (the machine is shared).
//   attention_bench            # the three bench/ shapes
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <vector>

#include "ops/attention.h"

using namespace peft::ops;

namespace {

double best_of(int n, const std::function<void()>& fn) {
  fn();
  double best = 1e30;
  for (int i = 0; i < n; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

}  // namespace

int main() {
  struct S {
    const char* name;
    int64_t B, T, H, Hkv, D;
  };
  const S shapes[] = {{"stories260K", 8, 256, 8, 4, 8}, {"dim 288", 8, 256, 6, 6, 48}, {"dim 768", 4, 512, 12, 12, 64}};
  std::printf("%-12s %10s %10s %10s %10s\n", "shape", "fwd fused", "fwd unfsd", "bwd fused", "bwd unfsd");
  for (const S& sh : shapes) {
    AttnShape s;
    s.B = sh.B, s.Tq = sh.T, s.Tk = sh.T, s.Hq = sh.H, s.Hkv = sh.Hkv, s.D = sh.D;
    s.scale = 1.0 / std::sqrt(static_cast<double>(sh.D));
    const size_t nq = sh.B * sh.T * sh.H * sh.D, nk = sh.B * sh.T * sh.Hkv * sh.D;
    std::vector<float> q(nq), k(nk), v(nk), o(nq), dout(nq), lse(sh.B * sh.H * sh.T), dq(nq), dk(nk), dv(nk);
    for (size_t i = 0; i < nq; ++i) q[i] = std::sin(0.37f * i), dout[i] = std::cos(0.11f * i);
    for (size_t i = 0; i < nk; ++i) k[i] = std::cos(0.23f * i), v[i] = std::sin(0.05f * i);
    const double ff = best_of(3, [&] { attention_forward(q.data(), k.data(), v.data(), o.data(), lse.data(), s); });
    const double fu =
        best_of(3, [&] { attention_forward_unfused(q.data(), k.data(), v.data(), o.data(), lse.data(), s); });
    const double bf = best_of(3, [&] {
      attention_backward(q.data(), k.data(), v.data(), o.data(), dout.data(), lse.data(), dq.data(), dk.data(),
                         dv.data(), s);
    });
    const double bu = best_of(3, [&] {
      attention_backward_unfused(q.data(), k.data(), v.data(), o.data(), dout.data(), lse.data(), dq.data(),
                                 dk.data(), dv.data(), s);
    });
    std::printf("%-12s %8.2fms %8.2fms %8.2fms %8.2fms\n", sh.name, ff * 1e3, fu * 1e3, bf * 1e3, bu * 1e3);
  }
  return 0;
}
