#include "model/llama.h"

#include <cmath>
#include <cstring>

#include "core/rng.h"

#include "core/error.h"
#include "model/act_buffer.h"
#include "ops/attention.h"
#include "ops/cross_entropy.h"
#include "ops/embedding.h"
#include "ops/matmul.h"
#include "ops/rmsnorm.h"
#include "ops/rope.h"
#include "ops/swiglu.h"
#include "ops/weight_ops.h"

namespace peft {

namespace {

template <typename T>
using Buf = ActBuffer<T>;

template <typename T>
void add_inplace(T* y, const T* x, int64_t n) {
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) y[i] += x[i];
}

}  // namespace

// What one layer keeps between forward and backward. Buffers marked
// "when needed" exist only if a linear reading them keeps its input.
template <typename T>
struct LayerSaved {
  Buf<T> x_in;       // [N, dim]   layer input (residual stream); the only buffer kept with checkpointing
  Buf<T> rstd1;      // [N]
  Buf<T> xn1;        // [N, dim]   when q, k or v keeps its input
  Buf<T> q_raw, k_raw, rstd_q, rstd_k;  // [N, Hq·D], [N, Hkv·D], [N·Hq], [N·Hkv]: Qwen3 q/k norm only
  Buf<T> q, k, v;    // [N, Hq·D], [N, Hkv·D], [N, Hkv·D]   after rope
  Buf<T> att;        // [N, Hq·D]  attention output (input of wo)
  Buf<T> lse;        // [B, Hq, T]
  Buf<T> x_mid;      // [N, dim]   residual after attention
  Buf<T> rstd2;      // [N]
  Buf<T> xn2;        // [N, dim]   when gate or up keeps its input
  Buf<T> g, u;       // [N, hidden]
  Buf<T> h;          // [N, hidden] when down keeps its input
  std::vector<std::pair<uint64_t, uint64_t>> rng_states;  // checkpointing: adapters' dropout generators

  void release_all() {
    for (Buf<T>* b : all()) b->release();
  }
  std::vector<Buf<T>*> all() {
    return {&x_in, &rstd1, &xn1, &q_raw, &k_raw, &rstd_q, &rstd_k, &q, &k, &v, &att, &lse, &x_mid, &rstd2, &xn2, &g, &u, &h};
  }
  int64_t bytes() {
    int64_t b = 0;
    for (Buf<T>* x : all()) b += x->bytes();
    return b;
  }
};

// Gradient buffers of the backward pass, reused across layers and steps.
template <typename T>
struct BackScratch {
  Buf<T> dres, dtmp, dxn, datt, dq, dk, dv, dg, du, dh, dqr, dkr;
};

template <typename T>
struct LlamaModel<T>::Impl : BackScratch<T> {
  std::vector<LayerSaved<T>> saved;
  Buf<T> x;       // [N, dim] residual stream
  Buf<T> x_fin;   // [N, dim] final normalised hidden state
  Buf<T> rstd_f;  // [N]
  Buf<T> lse_ce;  // [N]
  // The batch of the last forward_hidden, for backward_hidden.
  int64_t batch = 0, seq = 0;
  std::vector<int32_t> tokens, positions, segments;  // [B, T]; segments may be empty
  bool has_saved = false;  // a training forward_hidden awaits its backward
  // Forward scratch when nothing is kept.
  LayerSaved<T> scratch;
  Buf<T> sc_norm, sc_out, sc_hid;
  template <typename Ctx>
  void bind_scratch(Ctx& c, int64_t N, const LlamaConfig& cfg) {
    c.sc_norm = sc_norm.get(N * cfg.dim);
    c.sc_out = sc_out.get(N * cfg.dim);
    c.sc_hid = sc_hid.get(N * cfg.hidden_dim);
  }
};

template <typename T>
LlamaModel<T>::LlamaModel(const LlamaConfig& c, bool zeroed) : cfg(c), impl_(std::make_unique<Impl>()) {
  cfg.validate();
  tok_embd.allocate("token_embd.weight", {cfg.vocab_size, cfg.dim}, "embed", zeroed);
  layers.resize(cfg.n_layers);
  for (int64_t i = 0; i < cfg.n_layers; ++i) {
    auto& L = layers[i];
    std::string p = "blk." + std::to_string(i) + ".";
    L.attn_norm.allocate(p + "attn_norm.weight", {cfg.dim}, "norm", zeroed);
    L.ffn_norm.allocate(p + "ffn_norm.weight", {cfg.dim}, "norm", zeroed);
    if (cfg.qk_norm) {
      L.q_norm.allocate(p + "attn_q_norm.weight", {cfg.head_dim}, "norm", zeroed);
      L.k_norm.allocate(p + "attn_k_norm.weight", {cfg.head_dim}, "norm", zeroed);
    }
    L.wq.init(p + "attn_q", "q", cfg.dim, cfg.q_dim(), cfg.qkv_bias, zeroed);
    L.wk.init(p + "attn_k", "k", cfg.dim, cfg.kv_dim(), cfg.qkv_bias, zeroed);
    L.wv.init(p + "attn_v", "v", cfg.dim, cfg.kv_dim(), cfg.qkv_bias, zeroed);
    L.wo.init(p + "attn_output", "o", cfg.q_dim(), cfg.dim, false, zeroed);
    L.w_gate.init(p + "ffn_gate", "gate", cfg.dim, cfg.hidden_dim, false, zeroed);
    L.w_up.init(p + "ffn_up", "up", cfg.dim, cfg.hidden_dim, false, zeroed);
    L.w_down.init(p + "ffn_down", "down", cfg.hidden_dim, cfg.dim, false, zeroed);
  }
  out_norm.allocate("output_norm.weight", {cfg.dim}, "norm", zeroed);
  if (!cfg.tied_embeddings) output.allocate("output.weight", {cfg.vocab_size, cfg.dim}, "base", zeroed);
}

template <typename T>
LlamaModel<T>::~LlamaModel() = default;

template <typename T>
std::vector<Param<T>*> LlamaModel<T>::base_params() {
  std::vector<Param<T>*> ps{&tok_embd};
  for (auto& L : layers) {
    ps.push_back(&L.attn_norm);
    if (!L.q_norm.empty()) ps.push_back(&L.q_norm);
    if (!L.k_norm.empty()) ps.push_back(&L.k_norm);
    for (Linear<T>* lin : L.linears()) {
      ps.push_back(&lin->weight);
      if (!lin->bias.empty()) ps.push_back(&lin->bias);
    }
    ps.push_back(&L.ffn_norm);
  }
  ps.push_back(&out_norm);
  if (!output.empty()) ps.push_back(&output);
  return ps;
}

template <typename T>
std::vector<Linear<T>*> LlamaModel<T>::all_linears() {
  std::vector<Linear<T>*> r;
  for (auto& L : layers)
    for (Linear<T>* lin : L.linears()) r.push_back(lin);
  return r;
}

template <typename T>
void LlamaModel<T>::set_base_trainable(bool trainable) {
  for (Param<T>* p : base_params()) p->set_trainable(trainable);
}

template <typename T>
void LlamaModel<T>::visit_trainable(const ParamVisitor<T>& visit) {
  auto vp = [&](Param<T>& p) {
    if (!p.empty() && !p.frozen()) {
      auto r = p.ref();
      visit(r);
    }
  };
  vp(tok_embd);
  for (auto& L : layers) {
    vp(L.attn_norm);
    vp(L.q_norm);
    vp(L.k_norm);
    for (Linear<T>* lin : L.linears()) lin->visit_params(visit);
    vp(L.ffn_norm);
  }
  vp(out_norm);
  vp(output);
}

template <typename T>
void LlamaModel<T>::zero_grad() {
  for (Param<T>* p : base_params()) p->zero_grad();
  for (Linear<T>* lin : all_linears())
    if (lin->adapter) lin->adapter->zero_grad();
}

template <typename T>
int64_t LlamaModel<T>::parameter_count() const {
  auto* self = const_cast<LlamaModel<T>*>(this);
  int64_t n = 0;
  for (Param<T>* p : self->base_params()) n += p->numel();
  return n;
}

template <typename T>
void LlamaModel<T>::copy_weights_from(LlamaModel& other) {
  auto a = base_params(), b = other.base_params();
  if (a.size() != b.size()) fail("model", "cannot copy weights between models of different shapes");
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i]->shape != b[i]->shape) fail("model", "cannot copy weights between models of different shapes");
    if (b[i]->is_stored()) {  // frozen storage is never written: share it
      if (!a[i]->frozen()) fail("model", "cannot copy a stored weight into trainable '" + a[i]->name + "'");
      a[i]->hold_as(b[i]->stored);
      continue;
    }
    if (a[i]->is_stored()) {
      a[i]->stored.reset();
      a[i]->data = aligned_alloc_uninit<T>(a[i]->numel());
    }
    std::memcpy(a[i]->data.get(), b[i]->data.get(), sizeof(T) * a[i]->numel());
  }
}

// ---------------------------------------------------------------------------
// One layer's forward. x [N, dim] is updated in place (residual stream).
// When `keep` is true every buffer backward needs is left in `s`; otherwise `s`
// is scratch. Generation has its own layer step (model/llama_cached.cpp).
namespace {

template <typename T>
struct LayerCtx {
  const LlamaConfig* cfg;
  int64_t batch, seq, rows;  // B, T and N = B·T
  const int32_t* positions;  // [N]
  const int32_t* segments;   // [B, T] or null
  bool training;
  bool keep;
  // Scratch that is never kept: [N, dim] normalised input, [N, dim]
  // projection output, [N, hidden] MLP activation.
  T* sc_norm = nullptr;
  T* sc_out = nullptr;
  T* sc_hid = nullptr;
};

template <typename T>
void layer_forward(LlamaLayer<T>& L, T* x, LayerSaved<T>& s, const LayerCtx<T>& c) {
  const LlamaConfig& cfg = *c.cfg;
  const int64_t N = c.rows, dim = cfg.dim, qd = cfg.q_dim(), kvd = cfg.kv_dim(), hid = cfg.hidden_dim;
  const int64_t D = cfg.head_dim;
  ops::RopeSpec rope = cfg.rope_spec();

  if (c.keep) std::memcpy(s.x_in.get(N * dim), x, sizeof(T) * N * dim);
  // Attention block. Normalised inputs are kept only for linears that need
  // them for their own backward; otherwise they live in scratch.
  const bool keep_xn1 = c.keep && (L.wq.keeps_input() || L.wk.keeps_input() || L.wv.keeps_input());
  T* xn1 = keep_xn1 ? s.xn1.get(N * dim) : c.sc_norm;
  ops::rmsnorm_forward<T>(x, L.attn_norm.data.get(), xn1, s.rstd1.get(N), N, dim, cfg.norm_eps);
  T* q = s.q.get(N * qd);
  T* k = s.k.get(N * kvd);
  T* v = s.v.get(N * kvd);
  L.wq.forward(xn1, q, N, c.training);
  L.wk.forward(xn1, k, N, c.training);
  L.wv.forward(xn1, v, N, c.training);
  if (cfg.qk_norm) {
    // Qwen3: RMSNorm over each head's D values, before rope.
    T* qr = s.q_raw.get(N * qd);
    T* kr = s.k_raw.get(N * kvd);
    std::memcpy(qr, q, sizeof(T) * N * qd);
    std::memcpy(kr, k, sizeof(T) * N * kvd);
    ops::rmsnorm_forward<T>(qr, L.q_norm.data.get(), q, s.rstd_q.get(N * cfg.n_heads), N * cfg.n_heads, D, cfg.norm_eps);
    ops::rmsnorm_forward<T>(kr, L.k_norm.data.get(), k, s.rstd_k.get(N * cfg.n_kv_heads), N * cfg.n_kv_heads, D,
                            cfg.norm_eps);
  }
  ops::rope_forward<T>(q, c.positions, N, cfg.n_heads, rope);
  ops::rope_forward<T>(k, c.positions, N, cfg.n_kv_heads, rope);

  ops::AttnShape as;
  as.B = c.batch;
  as.Tq = c.seq;
  as.Tk = c.seq;
  as.Hq = cfg.n_heads;
  as.Hkv = cfg.n_kv_heads;
  as.D = D;
  as.scale = 1.0 / std::sqrt(static_cast<double>(D));
  as.segments = c.segments;
  T* att = s.att.get(N * qd);
  ops::attention_forward<T>(q, k, v, att, s.lse.get(c.batch * cfg.n_heads * c.seq), as);
  L.wo.forward(att, c.sc_out, N, c.training);  // x += att Woᵀ
  add_inplace(x, c.sc_out, N * dim);

  // MLP block.
  if (c.keep) std::memcpy(s.x_mid.get(N * dim), x, sizeof(T) * N * dim);
  const bool keep_xn2 = c.keep && (L.w_gate.keeps_input() || L.w_up.keeps_input());
  T* xn2 = keep_xn2 ? s.xn2.get(N * dim) : c.sc_norm;
  ops::rmsnorm_forward<T>(x, L.ffn_norm.data.get(), xn2, s.rstd2.get(N), N, dim, cfg.norm_eps);
  T* g = s.g.get(N * hid);
  T* u = s.u.get(N * hid);
  L.w_gate.forward(xn2, g, N, c.training);
  L.w_up.forward(xn2, u, N, c.training);
  const bool keep_h = c.keep && L.w_down.keeps_input();
  T* h = keep_h ? s.h.get(N * hid) : c.sc_hid;
  ops::swiglu_forward<T>(g, u, h, N * hid);
  L.w_down.forward(h, c.sc_out, N, c.training);  // x += h Wdᵀ
  add_inplace(x, c.sc_out, N * dim);
}

// Backward of one layer. dres [N, dim] holds dL/d(layer output) and is
// replaced by dL/d(layer input).
template <typename T>
void layer_backward(LlamaLayer<T>& L, LayerSaved<T>& s, T* dres, const LayerCtx<T>& c, BackScratch<T>& w) {
  const LlamaConfig& cfg = *c.cfg;
  const int64_t N = c.rows, dim = cfg.dim, qd = cfg.q_dim(), kvd = cfg.kv_dim(), hid = cfg.hidden_dim;
  const int64_t D = cfg.head_dim;
  ops::RopeSpec rope = cfg.rope_spec();

  // ---- MLP: x_out = x_mid + down(silu(g) ⊙ u), g = gate(xn2), u = up(xn2)
  T* dh = w.dh.get(N * hid);
  L.w_down.backward(s.h.data(), dres, dh, N, false);
  T* dg = w.dg.get(N * hid);
  T* du = w.du.get(N * hid);
  ops::swiglu_backward<T>(dh, s.g.data(), s.u.data(), dg, du, N * hid);
  T* dxn = w.dxn.get(N * dim);
  L.w_gate.backward(s.xn2.data(), dg, dxn, N, false);
  L.w_up.backward(s.xn2.data(), du, dxn, N, true);
  T* dtmp = w.dtmp.get(N * dim);
  ops::rmsnorm_backward<T>(dxn, s.x_mid.data(), L.ffn_norm.data.get(), s.rstd2.data(), dtmp,
                           L.ffn_norm.frozen() ? nullptr : L.ffn_norm.grad.get(), N, dim);
  add_inplace(dres, dtmp, N * dim);  // dres = dL/dx_mid

  // ---- Attention: x_mid = x_in + wo(attn(rope(q), rope(k), v))
  T* datt = w.datt.get(N * qd);
  L.wo.backward(s.att.data(), dres, datt, N, false);
  T* dq = w.dq.get(N * qd);
  T* dk = w.dk.get(N * kvd);
  T* dv = w.dv.get(N * kvd);
  ops::AttnShape as;
  as.B = c.batch;
  as.Tq = c.seq;
  as.Tk = c.seq;
  as.Hq = cfg.n_heads;
  as.Hkv = cfg.n_kv_heads;
  as.D = D;
  as.scale = 1.0 / std::sqrt(static_cast<double>(D));
  as.segments = c.segments;
  ops::attention_backward<T>(s.q.data(), s.k.data(), s.v.data(), s.att.data(), datt, s.lse.data(), dq, dk, dv, as);
  ops::rope_backward<T>(dq, c.positions, N, cfg.n_heads, rope);
  ops::rope_backward<T>(dk, c.positions, N, cfg.n_kv_heads, rope);
  if (cfg.qk_norm) {
    T* dqr = w.dqr.get(N * qd);
    T* dkr = w.dkr.get(N * kvd);
    ops::rmsnorm_backward<T>(dq, s.q_raw.data(), L.q_norm.data.get(), s.rstd_q.data(), dqr,
                             L.q_norm.frozen() ? nullptr : L.q_norm.grad.get(), N * cfg.n_heads, D);
    ops::rmsnorm_backward<T>(dk, s.k_raw.data(), L.k_norm.data.get(), s.rstd_k.data(), dkr,
                             L.k_norm.frozen() ? nullptr : L.k_norm.grad.get(), N * cfg.n_kv_heads, D);
    dq = dqr;
    dk = dkr;
  }
  L.wq.backward(s.xn1.data(), dq, dxn, N, false);
  L.wk.backward(s.xn1.data(), dk, dxn, N, true);
  L.wv.backward(s.xn1.data(), dv, dxn, N, true);
  ops::rmsnorm_backward<T>(dxn, s.x_in.data(), L.attn_norm.data.get(), s.rstd1.data(), dtmp,
                           L.attn_norm.frozen() ? nullptr : L.attn_norm.grad.get(), N, dim);
  add_inplace(dres, dtmp, N * dim);  // dres = dL/dx_in
}

void check_batch(const Batch& b, const LlamaConfig& cfg) {
  const int64_t N = b.B * b.T;
  if (b.B <= 0 || b.T <= 0) fail("model", "empty batch");
  if (static_cast<int64_t>(b.tokens.size()) != N || static_cast<int64_t>(b.positions.size()) != N)
    fail("model", "batch tokens/positions do not match its shape");
  if (!b.targets.empty() && static_cast<int64_t>(b.targets.size()) != N) fail("model", "batch targets do not match its shape");
  if (!b.segments.empty() && static_cast<int64_t>(b.segments.size()) != N)
    fail("model", "batch segments do not match its shape");
  for (int64_t i = 0; i < N; ++i) {
    if (b.tokens[i] < 0 || b.tokens[i] >= cfg.vocab_size)
      fail("model", "token id " + std::to_string(b.tokens[i]) + " is outside the vocabulary of " +
                        std::to_string(cfg.vocab_size));
    if (!b.targets.empty() && b.targets[i] >= cfg.vocab_size)
      fail("model", "target id " + std::to_string(b.targets[i]) + " is outside the vocabulary");
  }
}

}  // namespace

// The layer stack over a batch, up to the final RMSNorm. With `training`
// every layer keeps what backward needs (or only its input, with
// checkpointing) and adapters run their dropout; the batch's tokens,
// positions and segments are copied so backward_hidden needs nothing else.
template <typename T>
const T* LlamaModel<T>::forward_hidden(const Batch& b, bool training) {
  check_batch(b, cfg);
  Impl& w = *impl_;
  const int64_t N = b.B * b.T, dim = cfg.dim;
  w.batch = b.B;
  w.seq = b.T;
  w.tokens = b.tokens;
  w.positions = b.positions;
  w.segments = b.segments;
  w.has_saved = training;
  LayerCtx<T> c{&cfg, b.B, b.T, N, w.positions.data(), w.segments.empty() ? nullptr : w.segments.data(), training,
                training};
  w.bind_scratch(c, N, cfg);

  T* x = w.x.get(N * dim);
  ops::weight_gather_rows<T>(tok_embd.weight(), b.tokens.data(), x, N, cfg.vocab_size, dim);
  if (training) w.saved.resize(cfg.n_layers);
  for (int64_t l = 0; l < cfg.n_layers; ++l) {
    if (!training) {
      layer_forward(layers[l], x, w.scratch, c);
      continue;
    }
    LayerSaved<T>& s = w.saved[l];
    if (grad_checkpoint) {
      // Keep only the layer input; everything else is recomputed in backward
      // (with the adapters' dropout generators rewound so masks repeat).
      std::memcpy(s.x_in.get(N * dim), x, sizeof(T) * N * dim);
      s.rng_states.clear();
      for (Linear<T>* lin : layers[l].linears())
        if (lin->adapter && lin->adapter->dropout_rng())
          s.rng_states.push_back({lin->adapter->dropout_rng()->state0(), lin->adapter->dropout_rng()->state1()});
      LayerCtx<T> c2 = c;
      c2.keep = false;
      layer_forward(layers[l], x, w.scratch, c2);
    } else {
      layer_forward(layers[l], x, s, c);
    }
  }
  T* xf = w.x_fin.get(N * dim);
  ops::rmsnorm_forward<T>(x, out_norm.data.get(), xf, w.rstd_f.get(N), N, dim, cfg.norm_eps);
  if (training) {
    int64_t kept = w.x.bytes() + w.x_fin.bytes() + w.rstd_f.bytes();
    for (auto& s : w.saved) kept += s.bytes();
    last_saved_bytes_ = kept;
  }
  return xf;
}

// dxf [N, dim] → through the final norm, the layers (last to first) and the
// token embedding. dxf may alias the model's own scratch (forward_backward
// passes it): it is consumed before any layer runs.
template <typename T>
void LlamaModel<T>::backward_hidden(const T* dxf) {
  Impl& w = *impl_;
  if (!w.has_saved) fail("model", "backward_hidden without a training forward_hidden");
  w.has_saved = false;
  const int64_t N = w.batch * w.seq, dim = cfg.dim;
  LayerCtx<T> c{&cfg, w.batch, w.seq, N, w.positions.data(), w.segments.empty() ? nullptr : w.segments.data(), true, true};
  w.bind_scratch(c, N, cfg);
  T* dres = w.dres.get(N * dim);
  ops::rmsnorm_backward<T>(dxf, w.x.data(), out_norm.data.get(), w.rstd_f.data(), dres,
                           out_norm.frozen() ? nullptr : out_norm.grad.get(), N, dim);
  for (int64_t l = cfg.n_layers - 1; l >= 0; --l) {
    LayerSaved<T>& s = w.saved[l];
    if (grad_checkpoint) {
      // Recompute this layer's forward from its saved input, keeping everything.
      T* xr = w.x.get(N * dim);
      std::memcpy(xr, s.x_in.data(), sizeof(T) * N * dim);
      size_t k = 0;
      for (Linear<T>* lin : layers[l].linears())
        if (lin->adapter && lin->adapter->dropout_rng()) {
          lin->adapter->dropout_rng()->set_state(s.rng_states[k].first, s.rng_states[k].second);
          ++k;
        }
      layer_forward(layers[l], xr, w.scratch, c);
      layer_backward(layers[l], w.scratch, dres, c, w);
    } else {
      layer_backward(layers[l], s, dres, c, w);
    }
  }
  if (!tok_embd.frozen())
    ops::embedding_backward<T>(dres, w.tokens.data(), tok_embd.grad.get(), N, cfg.vocab_size, dim);
}

template <typename T>
double LlamaModel<T>::forward_backward(const Batch& b, double grad_scale) {
  const int64_t N = b.B * b.T, dim = cfg.dim;
  if (static_cast<int64_t>(b.targets.size()) != N) fail("model", "batch targets do not match its shape");
  const T* xf = forward_hidden(b, true);
  Impl& w = *impl_;
  T* lse = w.lse_ce.get(N);
  T* dxf = w.dtmp.get(N * dim);
  Param<T>& outp = output_param();
  double loss;
  if (outp.frozen()) {
    // Frozen head (adapter methods): loss and dL/dxf in one pass over the
    // vocabulary, each chunk's logits used once (no recomputation).
    loss = ops::linear_cross_entropy_fused<T>(xf, output_weight(), b.targets.data(), lse, static_cast<T>(grad_scale),
                                              dxf, N, dim, cfg.vocab_size);
  } else {
    loss = ops::linear_cross_entropy_forward<T>(xf, output_weight(), b.targets.data(), lse, N, dim, cfg.vocab_size);
    ops::linear_cross_entropy_backward<T>(xf, output_weight(), b.targets.data(), lse, static_cast<T>(grad_scale), dxf,
                                          outp.grad.get(), N, dim, cfg.vocab_size);
  }
  last_saved_bytes_ += w.lse_ce.bytes();
  backward_hidden(dxf);
  return loss;
}

template <typename T>
double LlamaModel<T>::forward_loss(const Batch& b) {
  const int64_t N = b.B * b.T, dim = cfg.dim;
  if (static_cast<int64_t>(b.targets.size()) != N) fail("model", "batch targets do not match its shape");
  const T* xf = forward_hidden(b, false);
  return ops::linear_cross_entropy_forward<T>(xf, output_weight(), b.targets.data(), impl_->lse_ce.get(N), N, dim,
                                              cfg.vocab_size);
}

template class LlamaModel<float>;
template class LlamaModel<double>;

}  // namespace peft
