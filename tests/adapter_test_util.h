// Shared helpers for the adapter tests: random fills, the loss used by the
// gradient checks, and a central-difference checker over x and every
// parameter an adapter visits.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "core/adapter_slot.h"
#include "core/rng.h"
#include "ops/matmul.h"

namespace peft::test {

template <typename T>
std::vector<T> random_vec(Rng& rng, int64_t n, double scale = 1.0) {
  std::vector<T> v(n);
  for (auto& e : v) e = static_cast<T>(scale * (2.0 * rng.uniform_double() - 1.0));
  return v;
}

// y [n, out] = x Wᵀ + delta(x), computed in training mode.
template <typename T>
std::vector<T> layer_out(Adapter<T>& a, const std::vector<T>& W, const std::vector<T>& x, int64_t n, int64_t in,
                         int64_t out, bool training = true) {
  std::vector<T> y(n * out);
  ops::linear_forward<T>(x.data(), W.data(), y.data(), n, in, out);
  a.forward(x.data(), y.data(), n, training);
  return y;
}

// L = Σ R ⊙ (x Wᵀ + delta(x)). The dropout generator is reset to `rng_state`
// before the forward, so every evaluation uses the same mask.
inline double weighted_sum(const std::vector<double>& y, const std::vector<double>& R) {
  double s = 0;
  for (size_t i = 0; i < y.size(); ++i) s += y[i] * R[i];
  return s;
}

// Checks dL/dx and (when `params_too`) dL/dθ for every visited parameter
// against central differences.
inline void gradient_check(Adapter<double>& a, const std::vector<double>& W, int64_t n, int64_t in, int64_t out,
                           uint64_t seed, bool params_too = true) {
  Rng rng(seed);
  std::vector<double> x = random_vec<double>(rng, n * in);
  std::vector<double> R = random_vec<double>(rng, n * out);
  Rng* dr = a.dropout_rng();
  const uint64_t s0 = dr ? dr->state0() : 0, s1 = dr ? dr->state1() : 0;
  auto reset = [&] {
    if (dr) dr->set_state(s0, s1);
  };
  auto loss = [&] {
    reset();
    return weighted_sum(layer_out(a, W, x, n, in, out), R);
  };

  // Analytic: dx = R W (base) + the adapter's share; parameter grads.
  a.zero_grad();
  reset();
  layer_out(a, W, x, n, in, out);
  std::vector<double> dx(n * in);
  ops::linear_backward_input<double>(R.data(), W.data(), dx.data(), n, in, out);
  a.backward(a.needs_input_for_backward() ? x.data() : nullptr, R.data(), dx.data(), n);

  const double h = 1e-5;
  auto check = [&](double* p, double analytic, const std::string& what) {
    const double keep = *p;
    *p = keep + h;
    const double lp = loss();
    *p = keep - h;
    const double lm = loss();
    *p = keep;
    const double fd = (lp - lm) / (2 * h);
    EXPECT_NEAR(analytic, fd, 1e-6 * (1 + std::fabs(fd))) << what;
  };
  for (int64_t i = 0; i < n * in; ++i) check(&x[i], dx[i], "dx[" + std::to_string(i) + "]");
  if (!params_too) return;
  // Snapshot the analytic grads first: the finite-difference forwards do
  // not touch them, but copying keeps the check independent of that.
  std::vector<std::pair<ParamRef<double>, std::vector<double>>> params;
  a.visit_params([&](ParamRef<double>& p) { params.push_back({p, std::vector<double>(p.grad, p.grad + p.numel)}); });
  ASSERT_FALSE(params.empty());
  for (auto& [p, g] : params) {
    bool nonzero = false;
    for (int64_t i = 0; i < p.numel; ++i) {
      check(&p.data[i], g[i], p.name + "[" + std::to_string(i) + "]");
      nonzero = nonzero || g[i] != 0;
    }
    EXPECT_TRUE(nonzero) << p.name << " has an all-zero gradient: the check would be vacuous";
  }
}

}  // namespace peft::test
