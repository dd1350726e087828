#include "adapters/delta_lora.h"

#include <cmath>

#include "adapters/registry.h"
#include "core/error.h"
#include "ops/matmul.h"

namespace peft {

namespace {
LoraOptions checked(const LoraOptions& opt) {
  if (opt.dropout != 0)
    fail("adapters", "delta-lora: dropout must be 0 (the base update assumes the gradient of W equals that of BA)");
  return opt;
}
}  // namespace

template <typename T>
DeltaLoraAdapter<T>::DeltaLoraAdapter(const LinearInfo& info, const LoraOptions& opt, const DeltaLoraOptions& dopt,
                                      const T* W, Rng& rng)
    : LoraAdapter<T>(info, checked(opt), W, rng), lambda_(dopt.ratio), start_(dopt.start) {
  this->method_ = "delta-lora";
  if (!std::isfinite(dopt.ratio)) fail("adapters", "delta-lora: the ratio must be finite");
  if (dopt.start < 0) fail("adapters", "delta-lora: the start step must be ≥ 0");
  prev_A_ = this->A_;
  prev_B_ = this->B_;
  anc_A_.assign(this->A_.size(), T(0));
  anc_B_.assign(this->B_.size(), T(0));
  if (start_ == 0) {
    anc_A_ = this->A_;
    anc_B_ = this->B_;
  }
  state_.assign(2, T(0));
}

template <typename T>
void DeltaLoraAdapter<T>::forward(const T* x, T* y, int64_t n, bool training) {
  LoraAdapter<T>::forward(x, y, n, training);
  if (!extra_active()) return;
  const int64_t in = this->info_.in, out = this->info_.out;
  const int r = this->r_;
  const T ls = static_cast<T>(lambda_ * this->s_);
  // y += λ·s · u Bᵀ − λ·s · (x A_Kᵀ) B_Kᵀ, with u = x Aᵀ still in u_.
  ops::gemm<T>(false, true, n, out, r, ls, this->u_.data(), r, this->B_.data(), r, T(1), y, out);
  v_.resize(n * r);
  ops::gemm<T>(false, true, n, r, in, T(1), x, in, anc_A_.data(), in, T(0), v_.data(), r);
  ops::gemm<T>(false, true, n, out, r, -ls, v_.data(), r, anc_B_.data(), r, T(1), y, out);
}

template <typename T>
void DeltaLoraAdapter<T>::backward(const T* x, const T* dy, T* dx, int64_t n) {
  LoraAdapter<T>::backward(x, dy, dx, n);
  if (!extra_active() || !dx) return;
  const int64_t in = this->info_.in, out = this->info_.out;
  const int r = this->r_;
  // dx += λ · (s·dy B) A − λ·s · (dy B_K) A_K; du_ holds s·dy B.
  ops::gemm<T>(false, false, n, in, r, static_cast<T>(lambda_), this->du_.data(), r, this->A_.data(), in, T(1), dx, in);
  dv_.resize(n * r);
  ops::gemm<T>(false, false, n, r, out, T(1), dy, out, anc_B_.data(), r, T(0), dv_.data(), r);
  ops::gemm<T>(false, false, n, in, r, static_cast<T>(-lambda_ * this->s_), dv_.data(), r, anc_A_.data(), in, T(1),
               dx, in);
}

template <typename T>
void DeltaLoraAdapter<T>::add_full_delta(T* W, double sign) const {
  this->add_delta(W, sign * (extra_active() ? 1.0 + lambda_ : 1.0));
  if (!extra_active()) return;
  ops::gemm<T>(false, false, this->info_.out, this->info_.in, this->r_, static_cast<T>(-sign * lambda_ * this->s_),
               anc_B_.data(), this->r_, anc_A_.data(), this->info_.in, T(1), W, this->info_.in);
}

template <typename T>
void DeltaLoraAdapter<T>::merge_into(T* W) const {
  add_full_delta(W, 1.0);
}
template <typename T>
void DeltaLoraAdapter<T>::unmerge_from(T* W) const {
  add_full_delta(W, -1.0);
}

template <typename T>
void DeltaLoraAdapter<T>::after_step(T* W, int64_t step) {
  if (step != steps_ + 1) internal_fail("adapters", "delta-lora: after_step called out of order");
  const int64_t in = this->info_.in, out = this->info_.out;
  const int r = this->r_;
  if (step > start_) {
    const Mode m = W ? Mode::kWritten : Mode::kTelescoped;
    if (mode_ != Mode::kUnknown && mode_ != m)
      internal_fail("adapters", "delta-lora: the base weight was written on some steps and not on others");
    mode_ = m;
    if (W) {
      // W += λ·s · (B₊(A₊ − A) + (B₊ − B)A).
      dA_.resize(r * in);
      dB_.resize(out * r);
      for (size_t i = 0; i < dA_.size(); ++i) dA_[i] = this->A_[i] - prev_A_[i];
      for (size_t i = 0; i < dB_.size(); ++i) dB_[i] = this->B_[i] - prev_B_[i];
      const T ls = static_cast<T>(lambda_ * this->s_);
      ops::gemm<T>(false, false, out, in, r, ls, this->B_.data(), r, dA_.data(), in, T(1), W, in);
      ops::gemm<T>(false, false, out, in, r, ls, dB_.data(), r, prev_A_.data(), in, T(1), W, in);
    }
  }
  if (step == start_) {
    anc_A_ = this->A_;
    anc_B_ = this->B_;
  }
  prev_A_ = this->A_;
  prev_B_ = this->B_;
  steps_ = step;
}

template <typename T>
void DeltaLoraAdapter<T>::visit_state(const ParamVisitor<T>& visit) {
  state_[0] = static_cast<T>(steps_);
  state_[1] = static_cast<T>(mode_ == Mode::kTelescoped ? 1 : 0);
  const std::string& n = this->info_.name;
  ParamRef<T> a{n + ".delta_anchor_A", anc_A_.data(), nullptr, static_cast<int64_t>(anc_A_.size()),
                Shape{this->r_, this->info_.in}, "state"};
  visit(a);
  ParamRef<T> b{n + ".delta_anchor_B", anc_B_.data(), nullptr, static_cast<int64_t>(anc_B_.size()),
                Shape{this->info_.out, this->r_}, "state"};
  visit(b);
  ParamRef<T> st{n + ".delta_state", state_.data(), nullptr, 2, Shape{2}, "state"};
  visit(st);
}

template <typename T>
void DeltaLoraAdapter<T>::state_restored() {
  const double steps = static_cast<double>(state_[0]);
  if (!(steps >= 0 && steps < 9e15 && steps == std::floor(steps)))
    fail("adapters", "delta-lora: bad step count in the checkpoint for '" + this->info_.name + "'");
  const std::vector<T> a = anc_A_, b = anc_B_;
  restore_state(static_cast<int64_t>(steps), state_[1] != T(0), a, b);
}

template <typename T>
void DeltaLoraAdapter<T>::restore_state(int64_t steps_done, bool telescoped, const std::vector<T>& anchor_A,
                                        const std::vector<T>& anchor_B) {
  if (steps_done < 0) fail("adapters", "delta-lora: negative step count in a checkpoint");
  steps_ = steps_done;
  mode_ = steps_done > start_ ? (telescoped ? Mode::kTelescoped : Mode::kWritten) : Mode::kUnknown;
  prev_A_ = this->A_;
  prev_B_ = this->B_;
  if (steps_done >= start_) {
    if (anchor_A.size() != this->A_.size() || anchor_B.size() != this->B_.size())
      fail("adapters", "delta-lora: checkpoint anchor matrices have the wrong size for '" + this->info_.name + "'");
    anc_A_ = anchor_A;
    anc_B_ = anchor_B;
  }
}

template <typename T>
PlainLora<T> DeltaLoraAdapter<T>::export_rank2r() const {
  // Past K: B' = [(1+λ)·B | −λ·B_K], A' = [A ; A_K]. Before: [B | 0], [A ; A].
  const int64_t in = this->info_.in, out = this->info_.out;
  const int r = this->r_, r2 = 2 * r;
  const bool past = steps_ > start_;
  PlainLora<T> e;
  e.rank = r2;
  e.rslora = this->rslora_;
  e.scale = this->s_;
  // Keep s: alpha' / r' (or / sqrt(r')) = s; 2·alpha without rsLoRA.
  e.alpha = this->rslora_ ? this->s_ * std::sqrt(static_cast<double>(r2)) : this->s_ * r2;
  e.A.resize(r2 * in);
  e.B.resize(out * r2);
  const std::vector<T>& a2 = past ? anc_A_ : this->A_;
  for (int64_t i = 0; i < r * in; ++i) {
    e.A[i] = this->A_[i];
    e.A[r * in + i] = a2[i];
  }
  const T f1 = static_cast<T>(past ? 1.0 + lambda_ : 1.0), f2 = static_cast<T>(past ? -lambda_ : 0.0);
  for (int64_t i = 0; i < out; ++i)
    for (int k = 0; k < r; ++k) {
      e.B[i * r2 + k] = f1 * this->B_[i * r + k];
      e.B[i * r2 + r + k] = past ? f2 * anc_B_[i * r + k] : T(0);
    }
  return e;
}

namespace {

template <typename T>
std::unique_ptr<Adapter<T>> make_delta_lora(const AdapterConfig& cfg, const LinearInfo& info, const T* W,
                                            const VeraShared<T>*, Rng& rng, std::vector<int32_t>) {
  DeltaLoraOptions d;
  d.ratio = cfg.delta_ratio;
  d.start = cfg.delta_start;
  return std::make_unique<DeltaLoraAdapter<T>>(info, lora_options_for(cfg, info), d, W, rng);
}

}  // namespace

const MethodSpec& delta_lora_method() {
  static const MethodSpec kSpec = [] {
    MethodSpec m;
    m.name = "delta-lora";
    m.aliases = {"delta_lora"};
    m.summary = "Delta-LoRA: LoRA whose update λ·Δ(BA) also moves the frozen base";
    // Dropout is read only to refuse anything but 0 (validate).
    m.settings = {"rank", "alpha", "dropout", "rslora", "init", "targets", "target-regex", "delta-ratio", "delta-start"};
    m.peft_records_init = false;  // saved as its rank-2r LoRA (export_rank2r)
    m.validate = [](const AdapterConfig& cfg) {
      if (cfg.dropout != 0)
        fail("adapters", "delta-lora: dropout must be 0 (the base update assumes the gradient of W equals that of BA)");
      if (cfg.delta_start < 0) fail("adapters", "delta-lora: the start step must be >= 0");
      if (!std::isfinite(cfg.delta_ratio)) fail("adapters", "delta-lora: ratio must be finite");
    };
    m.make_f32 = make_delta_lora<float>;
    m.make_f64 = make_delta_lora<double>;
    return m;
  }();
  return kSpec;
}

template class DeltaLoraAdapter<float>;
template class DeltaLoraAdapter<double>;

}  // namespace peft
