#include "adapters/lora_fa.h"

#include <cmath>

#include "adapters/registry.h"
#include "core/error.h"
#include "ops/matmul.h"

namespace peft {

template <typename T>
std::vector<double> lora_fa_gram_inverse(const T* A, int r, int64_t in) {
  // G = A Aᵀ + 1e-8 I, then [G | I] → [I | G⁻¹] with partial pivoting.
  std::vector<double> g(r * r, 0.0), inv(r * r, 0.0);
  for (int i = 0; i < r; ++i) {
    for (int j = 0; j < r; ++j) {
      double acc = 0;
      for (int64_t k = 0; k < in; ++k) acc += static_cast<double>(A[i * in + k]) * static_cast<double>(A[j * in + k]);
      g[i * r + j] = acc;
    }
    g[i * r + i] += 1e-8;
    inv[i * r + i] = 1.0;
  }
  for (int c = 0; c < r; ++c) {
    int piv = c;
    for (int i = c + 1; i < r; ++i)
      if (std::fabs(g[i * r + c]) > std::fabs(g[piv * r + c])) piv = i;
    if (g[piv * r + c] == 0) fail("adapters", "lora-fa: A Aᵀ + 1e-8 I is singular");
    if (piv != c)
      for (int j = 0; j < r; ++j) {
        std::swap(g[c * r + j], g[piv * r + j]);
        std::swap(inv[c * r + j], inv[piv * r + j]);
      }
    const double d = 1.0 / g[c * r + c];
    for (int j = 0; j < r; ++j) {
      g[c * r + j] *= d;
      inv[c * r + j] *= d;
    }
    for (int i = 0; i < r; ++i) {
      if (i == c) continue;
      const double f = g[i * r + c];
      if (f == 0) continue;
      for (int j = 0; j < r; ++j) {
        g[i * r + j] -= f * g[c * r + j];
        inv[i * r + j] -= f * inv[c * r + j];
      }
    }
  }
  return inv;
}

template <typename T>
void lora_fa_project_grad(const std::vector<double>& inv, int r, double s, T* g, int64_t out) {
  PEFT_CHECK(static_cast<int64_t>(inv.size()) == static_cast<int64_t>(r) * r, "adapters", "bad gram inverse");
  const double f = 1.0 / (s * s);
  std::vector<double> row(r);
  for (int64_t i = 0; i < out; ++i) {
    T* gi = g + i * r;
    for (int j = 0; j < r; ++j) {
      double acc = 0;
      for (int k = 0; k < r; ++k) acc += static_cast<double>(gi[k]) * inv[k * r + j];
      row[j] = f * acc;
    }
    for (int j = 0; j < r; ++j) gi[j] = static_cast<T>(row[j]);
  }
}

template <typename T>
LoraFaAdapter<T>::LoraFaAdapter(const LinearInfo& info, const LoraOptions& opt, const T* W, Rng& rng)
    : LoraAdapter<T>(info, opt, W, rng) {
  this->method_ = "lora-fa";
  // A is frozen: it has no gradient.
  this->gA_.clear();
  this->gA_.shrink_to_fit();
}

template <typename T>
void LoraFaAdapter<T>::forward(const T* x, T* y, int64_t n, bool training) {
  const int64_t in = this->info_.in, out = this->info_.out;
  const int r = this->r_;
  this->drop_.begin(n, training);
  const T* xd = this->drop_.apply(x, n);
  // u [n, r] = drop(x) Aᵀ, kept for dB when training;  y += s · u Bᵀ.
  std::vector<T>& u = training ? kept_u_ : this->u_;
  u.resize(n * r);
  ops::gemm<T>(false, true, n, r, in, T(1), xd, in, this->A_.data(), in, T(0), u.data(), r);
  ops::gemm<T>(false, true, n, out, r, static_cast<T>(this->s_), u.data(), r, this->B_.data(), r, T(1), y, out);
  if (!training) kept_u_.clear();
}

template <typename T>
void LoraFaAdapter<T>::backward(const T* /*x*/, const T* dy, T* dx, int64_t n) {
  const int64_t in = this->info_.in, out = this->info_.out;
  const int r = this->r_;
  const T s = static_cast<T>(this->s_);
  if (n != this->drop_.last_n() || static_cast<int64_t>(kept_u_.size()) != n * r)
    internal_fail("adapters", "lora-fa backward without a matching training forward");
  // dB [out, r] += s · dyᵀ u.
  ops::gemm<T>(true, false, out, r, n, s, dy, out, kept_u_.data(), r, T(1), this->gB_.data(), r);
  if (!dx) return;
  // du [n, r] = s · dy B;  dx [n, in] += mask ⊙ (du A) / (1 − p).
  this->du_.resize(n * r);
  ops::gemm<T>(false, false, n, r, out, s, dy, out, this->B_.data(), r, T(0), this->du_.data(), r);
  this->drop_.add_input_grad(n, r, this->du_.data(), this->A_.data(), in, dx);
}

template <typename T>
int64_t LoraFaAdapter<T>::saved_bytes() const {
  return this->drop_.last_n() * this->r_ * static_cast<int64_t>(sizeof(T));  // u [n, r]
}

template <typename T>
void LoraFaAdapter<T>::visit_params(const ParamVisitor<T>& visit) {
  ParamRef<T> b{this->info_.name + ".lora_B", this->B_.data(), this->gB_.data(),
                static_cast<int64_t>(this->B_.size()), Shape{this->info_.out, this->r_}, "lora_B"};
  visit(b);
}

template <typename T>
void LoraFaAdapter<T>::zero_grad() {
  std::fill(this->gB_.begin(), this->gB_.end(), T(0));
}

template <typename T>
void LoraFaAdapter<T>::project_grad() {
  if (gram_inv_.empty()) gram_inv_ = lora_fa_gram_inverse(this->A_.data(), this->r_, this->info_.in);
  lora_fa_project_grad(gram_inv_, this->r_, this->s_, this->gB_.data(), this->info_.out);
}

template std::vector<double> lora_fa_gram_inverse<float>(const float*, int, int64_t);
template std::vector<double> lora_fa_gram_inverse<double>(const double*, int, int64_t);
template void lora_fa_project_grad<float>(const std::vector<double>&, int, double, float*, int64_t);
template void lora_fa_project_grad<double>(const std::vector<double>&, int, double, double*, int64_t);
namespace {

template <typename T>
std::unique_ptr<Adapter<T>> make_lora_fa(const AdapterConfig& cfg, const LinearInfo& info, const T* W,
                                         const VeraShared<T>*, Rng& rng, std::vector<int32_t>) {
  auto a = std::make_unique<LoraFaAdapter<T>>(info, lora_options_for(cfg, info), W, rng);
  a->set_projection(cfg.lora_fa_projection);
  return a;
}

}  // namespace

const MethodSpec& lora_fa_method() {
  static const MethodSpec kSpec = [] {
    MethodSpec m;
    m.name = "lora-fa";
    m.aliases = {"lora_fa"};
    m.summary = "LoRA-FA: LoRA with A frozen at its random init; keeps x·Aᵀ instead of x";
    m.settings = lora_style_settings();
    m.settings.push_back("lora-fa-projection");
    m.validate = [](const AdapterConfig& cfg) {
      if (is_pissa_init(cfg.init))
        fail("adapters", "lora-fa: pissa init is not supported (A must stay random and frozen)");
    };
    m.make_f32 = make_lora_fa<float>;
    m.make_f64 = make_lora_fa<double>;
    return m;
  }();
  return kSpec;
}

template class LoraFaAdapter<float>;
template class LoraFaAdapter<double>;

}  // namespace peft
