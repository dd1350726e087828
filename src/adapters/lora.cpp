#include "adapters/lora.h"

#include <algorithm>
#include <cmath>

#include "adapters/init.h"
#include "adapters/registry.h"
#include "adapters/svd.h"
#include "core/error.h"
#include "ops/matmul.h"

namespace peft {

double lora_scaling(double alpha, int rank, bool rslora) {
  if (rank <= 0) fail("adapters", "rank must be positive, got " + std::to_string(rank));
  return rslora ? alpha / std::sqrt(static_cast<double>(rank)) : alpha / rank;
}

namespace {

// PiSSA (PEFT's init_lora_weights="pissa"): with W = U S Vᵀ and the top r
// triplets, A = diag(sqrt(S_r / s)) Vᵀ_r [r, in], B = U_r diag(sqrt(S_r / s))
// [out, r], so that s·BA = U_r S_r Vᵀ_r, the best rank-r part of W.
template <typename T>
void pissa_init(const T* W, int64_t out, int64_t in, int r, double s, int niter, Rng& rng, T* A, T* B) {
  if (!(s > 0)) fail("adapters", "pissa init needs a positive scaling (alpha > 0)");
  std::vector<double> Wd(out * in);
  for (int64_t i = 0; i < out * in; ++i) Wd[i] = static_cast<double>(W[i]);
  const Svd d = niter < 0 ? svd_jacobi(Wd.data(), out, in) : svd_lowrank(Wd.data(), out, in, r, niter, rng);
  for (int k = 0; k < r; ++k) {
    const double f = std::sqrt(d.S[k] / s);
    for (int64_t j = 0; j < in; ++j) A[k * in + j] = static_cast<T>(f * d.Vt[k * in + j]);
    for (int64_t i = 0; i < out; ++i) B[i * r + k] = static_cast<T>(d.U[i * d.k + k] * f);
  }
}

// "pissa" → −1 (exact SVD); "pissa_niter_K" → K (PEFT's fast variant); else −2.
int pissa_iterations(const std::string& init) {
  if (init == "pissa") return -1;
  const std::string p = "pissa_niter_";
  if (init.compare(0, p.size(), p) != 0 || init.size() == p.size() || init.size() > p.size() + 4) return -2;
  for (size_t i = p.size(); i < init.size(); ++i)
    if (init[i] < '0' || init[i] > '9') return -2;
  return std::stoi(init.substr(p.size()));
}

}  // namespace

template <typename T>
LoraAdapter<T>::LoraAdapter(const LinearInfo& info, const LoraOptions& opt, const T* W, Rng& rng)
    : info_(info), r_(opt.rank), alpha_(opt.alpha), rslora_(opt.rslora), drop_(opt.dropout, info.in) {
  const std::string where = "layer '" + info.name + "': ";
  if (info.in <= 0 || info.out <= 0) fail("adapters", where + "empty layer shape");
  if (opt.rank <= 0) fail("adapters", where + "rank must be positive, got " + std::to_string(opt.rank));
  if (!(opt.dropout >= 0 && opt.dropout < 1))
    fail("adapters", where + "dropout must be in [0, 1), got " + std::to_string(opt.dropout));
  if (!std::isfinite(opt.alpha)) fail("adapters", where + "alpha must be finite");
  s_ = lora_scaling(alpha_, r_, rslora_);
  A_.assign(r_ * info.in, T(0));
  B_.assign(info.out * r_, T(0));
  gA_.assign(A_.size(), T(0));
  gB_.assign(B_.size(), T(0));
  if (opt.init == "kaiming") {
    init_uniform(rng, A_.data(), r_ * info.in, kaiming_uniform_bound(info.in, std::sqrt(5.0)));
  } else if (opt.init == "gaussian") {
    init_normal(rng, A_.data(), r_ * info.in, 1.0 / r_);
  } else if (pissa_iterations(opt.init) >= -1) {
    if (!W) fail("adapters", where + "pissa init needs the base weight");
    if (r_ > std::min(info.in, info.out))
      fail("adapters", where + "pissa init needs rank <= min(in, out) = " + std::to_string(std::min(info.in, info.out)));
    pissa_init(W, info.out, info.in, r_, s_, pissa_iterations(opt.init), rng, A_.data(), B_.data());
    init_A_ = A_;
    init_B_ = B_;
  } else {
    fail("adapters", "unknown init '" + opt.init + "' (kaiming, gaussian, pissa, pissa_niter_K)");
  }
  drop_.reseed(rng);
}

template <typename T>
void LoraAdapter<T>::forward(const T* x, T* y, int64_t n, bool training) {
  const int64_t in = info_.in, out = info_.out;
  drop_.begin(n, training);
  const T* xd = drop_.apply(x, n);
  // u [n, r] = drop(x) Aᵀ;  y [n, out] += s · u Bᵀ.
  u_.resize(n * r_);
  ops::gemm<T>(false, true, n, r_, in, T(1), xd, in, A_.data(), in, T(0), u_.data(), r_);
  ops::gemm<T>(false, true, n, out, r_, static_cast<T>(s_), u_.data(), r_, B_.data(), r_, T(1), y, out);
}

template <typename T>
void LoraAdapter<T>::backward(const T* x, const T* dy, T* dx, int64_t n) {
  const int64_t in = info_.in, out = info_.out;
  if (!x) internal_fail("adapters", "lora backward needs the layer input");
  if (n != drop_.last_n()) internal_fail("adapters", "lora backward without a matching training forward");
  const T* xd = drop_.apply(x, n);
  // Recompute u [n, r] = drop(x) Aᵀ rather than keep it.
  u_.resize(n * r_);
  du_.resize(n * r_);
  ops::gemm<T>(false, true, n, r_, in, T(1), xd, in, A_.data(), in, T(0), u_.data(), r_);
  // dB [out, r] += s · dyᵀ u;  du [n, r] = s · dy B;  dA [r, in] += duᵀ drop(x).
  ops::gemm<T>(true, false, out, r_, n, static_cast<T>(s_), dy, out, u_.data(), r_, T(1), gB_.data(), r_);
  ops::gemm<T>(false, false, n, r_, out, static_cast<T>(s_), dy, out, B_.data(), r_, T(0), du_.data(), r_);
  ops::gemm<T>(true, false, r_, in, n, T(1), du_.data(), r_, xd, in, T(1), gA_.data(), in);
  if (!dx) return;
  // dx [n, in] += mask ⊙ (du A) / (1 − p).
  drop_.add_input_grad(n, r_, du_.data(), A_.data(), in, dx);
}

template <typename T>
int64_t LoraAdapter<T>::saved_bytes() const {
  return 0;  // x [n, in] is kept by the Linear (needs_input_for_backward), not counted here
}

template <typename T>
void LoraAdapter<T>::visit_params(const ParamVisitor<T>& visit) {
  ParamRef<T> a{info_.name + ".lora_A", A_.data(), gA_.data(), static_cast<int64_t>(A_.size()),
                Shape{r_, info_.in}, "lora_A"};
  visit(a);
  ParamRef<T> b{info_.name + ".lora_B", B_.data(), gB_.data(), static_cast<int64_t>(B_.size()),
                Shape{info_.out, r_}, "lora_B"};
  visit(b);
}

template <typename T>
void LoraAdapter<T>::zero_grad() {
  std::fill(gA_.begin(), gA_.end(), T(0));
  std::fill(gB_.begin(), gB_.end(), T(0));
}

template <typename T>
void LoraAdapter<T>::add_delta(T* W, double sign) const {
  // W [out, in] += sign · s · B [out, r] · A [r, in].
  ops::gemm<T>(false, false, info_.out, info_.in, r_, static_cast<T>(sign * s_), B_.data(), r_, A_.data(),
               info_.in, T(1), W, info_.in);
}

template <typename T>
void LoraAdapter<T>::merge_into(T* W) const {
  add_delta(W, 1.0);
}
template <typename T>
void LoraAdapter<T>::unmerge_from(T* W) const {
  add_delta(W, -1.0);
}

template <typename T>
PlainLora<T> LoraAdapter<T>::export_lora() const {
  PlainLora<T> e;
  e.rslora = rslora_;
  e.scale = s_;
  if (init_A_.empty()) {
    e.rank = r_;
    e.alpha = alpha_;
    e.A = A_;
    e.B = B_;
    return e;
  }
  const int64_t in = info_.in, out = info_.out;
  const int r2 = 2 * r_;
  e.rank = r2;
  // Keep s: alpha' = s · r' (or s · sqrt(r') with rsLoRA).
  e.alpha = rslora_ ? s_ * std::sqrt(static_cast<double>(r2)) : s_ * r2;
  e.A.resize(r2 * in);
  e.B.resize(out * r2);
  std::copy(A_.begin(), A_.end(), e.A.begin());
  std::copy(init_A_.begin(), init_A_.end(), e.A.begin() + r_ * in);
  for (int64_t i = 0; i < out; ++i)
    for (int k = 0; k < r_; ++k) {
      e.B[i * r2 + k] = B_[i * r_ + k];
      e.B[i * r2 + r_ + k] = -init_B_[i * r_ + k];
    }
  return e;
}

namespace {

template <typename T>
std::unique_ptr<Adapter<T>> make_lora(const AdapterConfig& cfg, const LinearInfo& info, const T* W,
                                      const VeraShared<T>*, Rng& rng, std::vector<int32_t>) {
  // No row_perm: LoRA-style rows are permuted when saved (train/peft_dir.h).
  return std::make_unique<LoraAdapter<T>>(info, lora_options_for(cfg, info), W, rng);
}

}  // namespace

const MethodSpec& lora_method() {
  static const MethodSpec kSpec = [] {
    MethodSpec m;
    m.name = "lora";
    m.summary = "LoRA: a trainable low-rank update s·BA on each targeted layer";
    m.settings = lora_style_settings();
    m.make_f32 = make_lora<float>;
    m.make_f64 = make_lora<double>;
    return m;
  }();
  return kSpec;
}

template class LoraAdapter<float>;
template class LoraAdapter<double>;

}  // namespace peft
