#include "adapters/vera.h"

#include <cmath>

#include "adapters/init.h"
#include "adapters/registry.h"
#include "core/error.h"
#include "ops/matmul.h"

namespace peft {

template <typename T>
VeraShared<T>::VeraShared(int rank, int64_t max_in, int64_t max_out, uint64_t seed)
    : r_(rank), max_in_(max_in), max_out_(max_out) {
  if (rank <= 0) fail("adapters", "vera: rank must be positive, got " + std::to_string(rank));
  if (max_in <= 0 || max_out <= 0) fail("adapters", "vera: empty shared projection shape");
  Rng rng(seed);
  A_.resize(r_ * max_in_);
  B_.resize(max_out_ * r_);
  init_uniform(rng, A_.data(), r_ * max_in_, kaiming_uniform_bound(max_in_, 0.0));
  init_uniform(rng, B_.data(), max_out_ * r_, kaiming_uniform_bound(r_, 0.0));
}

template <typename T>
VeraShared<T>::VeraShared(int rank, int64_t max_in, int64_t max_out, std::vector<T> A, std::vector<T> B)
    : r_(rank), max_in_(max_in), max_out_(max_out), A_(std::move(A)), B_(std::move(B)) {
  if (rank <= 0 || max_in <= 0 || max_out <= 0) fail("adapters", "vera: empty shared projection shape");
  if (static_cast<int64_t>(A_.size()) != r_ * max_in_ || static_cast<int64_t>(B_.size()) != max_out_ * r_)
    fail("adapters", "vera: shared projections do not match [r, max_in] and [max_out, r]");
}

template <typename T>
VeraAdapter<T>::VeraAdapter(const LinearInfo& info, const VeraOptions& opt, const VeraShared<T>* shared, Rng& rng,
                            std::vector<int32_t> row_perm)
    : info_(info), shared_(shared), perm_(std::move(row_perm)), drop_(opt.dropout, info.in) {
  if (!shared) fail("adapters", "vera: layer '" + info.name + "' has no shared projections");
  r_ = shared->rank();
  if (info.in <= 0 || info.out <= 0) fail("adapters", "vera: layer '" + info.name + "' has an empty shape");
  if (info.in > shared->max_in() || info.out > shared->max_out())
    fail("adapters", "vera: layer '" + info.name + "' [" + std::to_string(info.out) + ", " +
                         std::to_string(info.in) + "] does not fit the shared projections (max_out " +
                         std::to_string(shared->max_out()) + ", max_in " + std::to_string(shared->max_in()) + ")");
  if (!(opt.dropout >= 0 && opt.dropout < 1))
    fail("adapters", "vera: dropout must be in [0, 1), got " + std::to_string(opt.dropout));
  if (!perm_.empty()) {
    if (static_cast<int64_t>(perm_.size()) != info.out)
      fail("adapters", "vera: row order for '" + info.name + "' has the wrong length");
    std::vector<char> seen(info.out, 0);
    for (int32_t p : perm_) {
      if (p < 0 || p >= info.out || seen[p]) fail("adapters", "vera: row order for '" + info.name + "' is not a permutation");
      seen[p] = 1;
    }
  }
  lb_.assign(info.out, T(0));
  ld_.assign(r_, static_cast<T>(opt.d_initial));
  glb_.assign(info.out, T(0));
  gld_.assign(r_, T(0));
  drop_.reseed(rng);
}

namespace {

// Scratch for the projections, shared by every VeRA layer of a thread:
// backward recomputes the projections, so nothing here outlives one call,
// and one set of buffers serves the whole model instead of [n, out] per layer.
template <typename T>
struct VeraScratch {
  std::vector<T> u, w, z, dz, dw;  // [n, r], [n, r], [n, out], [n, out], [n, r]
};
template <typename T>
VeraScratch<T>& vera_scratch() {
  thread_local VeraScratch<T> s;
  return s;
}

}  // namespace

template <typename T>
void VeraAdapter<T>::project(const T* xd, int64_t n) {
  const int64_t in = info_.in, out = info_.out;
  VeraScratch<T>& sc = vera_scratch<T>();
  sc.u.resize(n * r_);
  sc.w.resize(n * r_);
  sc.z.resize(n * out);
  // u = drop(x) A_lᵀ: A_l is the first `in` columns of vera_A (leading dim max_in).
  ops::gemm<T>(false, true, n, r_, in, T(1), xd, in, shared_->A(), shared_->max_in(), T(0), sc.u.data(), r_);
  for (int64_t i = 0; i < n; ++i)
    for (int k = 0; k < r_; ++k) sc.w[i * r_ + k] = sc.u[i * r_ + k] * ld_[k];
  // z = w vera_B[:out]ᵀ, columns in HF row order.
  ops::gemm<T>(false, true, n, out, r_, T(1), sc.w.data(), r_, shared_->B(), r_, T(0), sc.z.data(), out);
}

template <typename T>
void VeraAdapter<T>::forward(const T* x, T* y, int64_t n, bool training) {
  const int64_t out = info_.out;
  drop_.begin(n, training);
  project(drop_.apply(x, n), n);
  VeraScratch<T>& sc = vera_scratch<T>();
  // y[:, i] += λ_b[i] · z[:, perm(i)].
  for (int64_t t = 0; t < n; ++t)
    for (int64_t i = 0; i < out; ++i) y[t * out + i] += lb_[i] * sc.z[t * out + hf_row(i)];
}

template <typename T>
void VeraAdapter<T>::backward(const T* x, const T* dy, T* dx, int64_t n) {
  const int64_t out = info_.out;
  if (!x) internal_fail("adapters", "vera backward needs the layer input");
  if (n != drop_.last_n()) internal_fail("adapters", "vera backward without a matching training forward");
  const T* xd = drop_.apply(x, n);
  project(xd, n);
  VeraScratch<T>& sc = vera_scratch<T>();
  // dλ_b[i] += Σ_t dy[t,i] z[t,perm i];  dz[t, perm i] = dy[t,i] λ_b[i].
  sc.dz.resize(n * out);
  for (int64_t t = 0; t < n; ++t)
    for (int64_t i = 0; i < out; ++i) {
      const int64_t j = hf_row(i);
      glb_[i] += dy[t * out + i] * sc.z[t * out + j];
      sc.dz[t * out + j] = dy[t * out + i] * lb_[i];
    }
  // dw [n, r] = dz vera_B[:out];  dλ_d[k] += Σ_t dw[t,k] u[t,k];  du = dw ⊙ λ_d (in place).
  sc.dw.resize(n * r_);
  ops::gemm<T>(false, false, n, r_, out, T(1), sc.dz.data(), out, shared_->B(), r_, T(0), sc.dw.data(), r_);
  for (int64_t t = 0; t < n; ++t)
    for (int k = 0; k < r_; ++k) {
      gld_[k] += sc.dw[t * r_ + k] * sc.u[t * r_ + k];
      sc.dw[t * r_ + k] *= ld_[k];
    }
  if (!dx) return;
  // dx [n, in] += mask ⊙ (du A_l) / (1 − p).
  drop_.add_input_grad(n, r_, sc.dw.data(), shared_->A(), shared_->max_in(), dx);
}

template <typename T>
int64_t VeraAdapter<T>::saved_bytes() const {
  return 0;  // x [n, in] is kept by the Linear (needs_input_for_backward), not counted here
}

template <typename T>
void VeraAdapter<T>::visit_params(const ParamVisitor<T>& visit) {
  ParamRef<T> b{info_.name + ".vera_lambda_b", lb_.data(), glb_.data(), info_.out, Shape{info_.out}, "vera_lambda"};
  visit(b);
  ParamRef<T> d{info_.name + ".vera_lambda_d", ld_.data(), gld_.data(), r_, Shape{r_}, "vera_lambda"};
  visit(d);
}

template <typename T>
void VeraAdapter<T>::zero_grad() {
  std::fill(glb_.begin(), glb_.end(), T(0));
  std::fill(gld_.begin(), gld_.end(), T(0));
}

template <typename T>
void VeraAdapter<T>::add_delta(T* W, double sign) const {
  // ΔW [out, in] = diag(λ_b) B_l diag(λ_d) A_l:  M[i,k] = λ_b[i] vera_B[perm i, k] λ_d[k].
  const int64_t out = info_.out;
  std::vector<T> M(out * r_);
  const T* vb = shared_->B();
  for (int64_t i = 0; i < out; ++i)
    for (int k = 0; k < r_; ++k) M[i * r_ + k] = lb_[i] * vb[hf_row(i) * r_ + k] * ld_[k];
  ops::gemm<T>(false, false, out, info_.in, r_, static_cast<T>(sign), M.data(), r_, shared_->A(), shared_->max_in(),
               T(1), W, info_.in);
}

template <typename T>
void VeraAdapter<T>::plain_factors(T* A, T* B) const {
  const int64_t in = info_.in, mi = shared_->max_in();
  for (int k = 0; k < r_; ++k)
    for (int64_t j = 0; j < in; ++j) A[k * in + j] = ld_[k] * shared_->A()[k * mi + j];
  for (int64_t i = 0; i < info_.out; ++i)
    for (int k = 0; k < r_; ++k) B[i * r_ + k] = lb_[i] * shared_->B()[hf_row(i) * r_ + k];
}

template <typename T>
void VeraAdapter<T>::merge_into(T* W) const {
  add_delta(W, 1.0);
}
template <typename T>
void VeraAdapter<T>::unmerge_from(T* W) const {
  add_delta(W, -1.0);
}

template <typename T>
PlainLora<T> VeraAdapter<T>::plain_lora() const {
  PlainLora<T> p;
  p.rank = r_;
  p.alpha = r_;
  p.scale = 1.0;
  p.A.resize(static_cast<size_t>(r_) * info_.in);
  p.B.resize(static_cast<size_t>(info_.out) * r_);
  plain_factors(p.A.data(), p.B.data());
  return p;
}

namespace {

template <typename T>
std::unique_ptr<Adapter<T>> make_vera(const AdapterConfig& cfg, const LinearInfo& info, const T*,
                                      const VeraShared<T>* shared, Rng& rng, std::vector<int32_t> row_perm) {
  if (!shared) fail("adapters", "vera: no shared projections were made for the model");
  VeraOptions vo;
  vo.dropout = cfg.dropout;
  vo.d_initial = cfg.vera_d_initial;
  return std::make_unique<VeraAdapter<T>>(info, vo, shared, rng, std::move(row_perm));
}

}  // namespace

const MethodSpec& vera_method() {
  static const MethodSpec kSpec = [] {
    MethodSpec m;
    m.name = "vera";
    m.summary = "VeRA: trainable scaling vectors around one frozen random pair shared by all layers";
    m.default_lr = 1e-2;
    m.default_rank = 256;
    m.settings = {"rank", "dropout", "targets", "target-regex", "vera-d-initial", "vera-seed"};
    m.shared_projections = true;
    m.peft_format = PeftFormat::Vera;
    m.make_f32 = make_vera<float>;
    m.make_f64 = make_vera<double>;
    return m;
  }();
  return kSpec;
}

template class VeraShared<float>;
template class VeraShared<double>;
template class VeraAdapter<float>;
template class VeraAdapter<double>;

}  // namespace peft
