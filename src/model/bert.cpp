#include "model/bert.h"

#include <cmath>
#include <cstring>
#include <sstream>

#include "core/error.h"
#include "model/act_buffer.h"
#include "ops/attention.h"
#include "ops/embedding.h"
#include "ops/gelu.h"
#include "ops/layernorm.h"

namespace peft {

void BertConfig::validate() const {
  auto need = [](bool ok, const std::string& what) {
    if (!ok) fail("model", what);
  };
  need(arch == "bert" || arch == "roberta" || arch == "xlm-roberta",
       "unsupported encoder architecture '" + arch + "' (supported: bert, roberta, xlm-roberta)");
  need(vocab_size > 0, "vocabulary size must be positive");
  need(dim > 0 && hidden_dim > 0 && n_layers > 0, "dimensions and layer count must be positive");
  need(n_heads > 0 && dim % n_heads == 0,
       "hidden size " + std::to_string(dim) + " is not a multiple of the head count " + std::to_string(n_heads));
  need(type_vocab_size > 0, "type vocabulary size must be positive");
  need(norm_eps > 0, "layer norm epsilon must be positive");
  need(pad_token_id >= 0 && pad_token_id < vocab_size, "pad token id " + std::to_string(pad_token_id) +
                                                           " is outside the vocabulary");
  need(max_tokens() > 0, "the position table of " + std::to_string(max_positions) +
                             " rows leaves no room for tokens past the padding index");
}

std::string BertConfig::describe() const {
  std::ostringstream os;
  os << arch << ": dim " << dim << ", hidden " << hidden_dim << ", " << n_layers << " layers, " << n_heads
     << " heads, vocab " << vocab_size << ", positions " << max_positions << ", types " << type_vocab_size
     << ", pad " << pad_token_id;
  return os.str();
}

namespace {

template <typename T>
using Buf = ActBuffer<T>;

// y = a + b, elementwise over n.
template <typename T>
void add_to(T* y, const T* a, const T* b, int64_t n) {
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) y[i] = a[i] + b[i];
}

}  // namespace

// What one layer keeps between forward and backward. x_in, x1 and act are
// kept only when the linear reading them keeps its input (a frozen base
// linear without an input-hungry adapter needs none of them).
template <typename T>
struct BertLayerSaved {
  Buf<T> x_in;              // [N, dim]    layer input, read by q/k/v
  Buf<T> q, k, v, att;      // [N, dim]    projections and attention output
  Buf<T> lse;               // [B, H, T]
  Buf<T> s1, mean1, rstd1;  // [N, dim], [N], [N]   x_in + att Woᵀ + bo, before its norm
  Buf<T> x1;                // [N, dim]    after the attention output norm, read by up
  Buf<T> u;                 // [N, hidden] before GELU
  Buf<T> act;               // [N, hidden] after GELU, read by down
  Buf<T> s2, mean2, rstd2;  // [N, dim], [N], [N]   x1 + MLP output, before its norm

  std::vector<Buf<T>*> all() { return {&x_in, &q, &k, &v, &att, &lse, &s1, &mean1, &rstd1, &x1, &u, &act, &s2, &mean2, &rstd2}; }
  int64_t bytes() {
    int64_t b = 0;
    for (Buf<T>* x : all()) b += x->bytes();
    return b;
  }
};

template <typename T>
struct BertModel<T>::Impl {
  std::vector<BertLayerSaved<T>> saved;  // per layer, training only
  BertLayerSaved<T> scratch;             // inference: reused by every layer
  Buf<T> e, mean_e, rstd_e;              // [N, dim], [N], [N]  embedding sum before its norm
  Buf<T> x;                              // [N, dim]  residual stream / final hidden states
  Buf<T> sc_in, sc_x1, sc_act, sc_out;   // scratch: [N, dim], [N, dim], [N, hidden], [N, dim]
  // Backward scratch.
  Buf<T> dx, ds, dx1, datt, dq, dk, dv, dh;
  // The batch of the last training forward.
  int64_t B = 0, seq = 0;  // batch rows and sequence length
  std::vector<int32_t> tokens, types, pos;
  std::vector<uint8_t> mask;
  bool has_mask = false, ready = false;
};

template <typename T>
BertModel<T>::BertModel(const BertConfig& c) : cfg(c), impl_(std::make_unique<Impl>()) {
  cfg.validate();
  const int64_t C = cfg.dim;
  tok_embd.allocate("token_embd.weight", {cfg.vocab_size, C}, "embed");
  pos_embd.allocate("position_embd.weight", {cfg.max_positions, C}, "embed");
  type_embd.allocate("token_types.weight", {cfg.type_vocab_size, C}, "embed");
  embd_norm_w.allocate("token_embd_norm.weight", {C}, "norm");
  embd_norm_b.allocate("token_embd_norm.bias", {C}, "norm");
  layers.resize(cfg.n_layers);
  for (int64_t i = 0; i < cfg.n_layers; ++i) {
    auto& L = layers[i];
    const std::string p = "blk." + std::to_string(i) + ".";
    L.wq.init(p + "attn_q", "q", C, C, true);
    L.wk.init(p + "attn_k", "k", C, C, true);
    L.wv.init(p + "attn_v", "v", C, C, true);
    L.wo.init(p + "attn_output", "o", C, C, true);
    L.w_up.init(p + "ffn_up", "up", C, cfg.hidden_dim, true);
    L.w_down.init(p + "ffn_down", "down", cfg.hidden_dim, C, true);
    L.attn_norm_w.allocate(p + "attn_output_norm.weight", {C}, "norm");
    L.attn_norm_b.allocate(p + "attn_output_norm.bias", {C}, "norm");
    L.out_norm_w.allocate(p + "layer_output_norm.weight", {C}, "norm");
    L.out_norm_b.allocate(p + "layer_output_norm.bias", {C}, "norm");
  }
}

template <typename T>
BertModel<T>::~BertModel() = default;

template <typename T>
std::vector<Param<T>*> BertModel<T>::base_params() {
  std::vector<Param<T>*> ps{&tok_embd, &pos_embd, &type_embd, &embd_norm_w, &embd_norm_b};
  for (auto& L : layers) {
    for (Linear<T>* lin : L.linears()) {
      ps.push_back(&lin->weight);
      ps.push_back(&lin->bias);
      if (lin == &L.wo) {
        ps.push_back(&L.attn_norm_w);
        ps.push_back(&L.attn_norm_b);
      }
    }
    ps.push_back(&L.out_norm_w);
    ps.push_back(&L.out_norm_b);
  }
  return ps;
}

template <typename T>
std::vector<Linear<T>*> BertModel<T>::all_linears() {
  std::vector<Linear<T>*> r;
  for (auto& L : layers)
    for (Linear<T>* lin : L.linears()) r.push_back(lin);
  return r;
}

template <typename T>
void BertModel<T>::set_base_trainable(bool trainable) {
  for (Param<T>* p : base_params()) p->set_trainable(trainable);
}

template <typename T>
void BertModel<T>::visit_trainable(const ParamVisitor<T>& visit) {
  for (Param<T>* p : base_params())
    if (!p->frozen()) {
      auto r = p->ref();
      visit(r);
    }
  for (Linear<T>* lin : all_linears())
    if (lin->adapter) lin->adapter->visit_params(visit);
}

template <typename T>
void BertModel<T>::zero_grad() {
  for (Param<T>* p : base_params()) p->zero_grad();
  for (Linear<T>* lin : all_linears())
    if (lin->adapter) lin->adapter->zero_grad();
}

template <typename T>
int64_t BertModel<T>::parameter_count() const {
  int64_t n = 0;
  for (Param<T>* p : const_cast<BertModel<T>*>(this)->base_params()) n += p->numel();
  return n;
}

template <typename T>
std::vector<int32_t> BertModel<T>::positions(const EncoderBatch& b) const {
  std::vector<int32_t> pos(static_cast<size_t>(b.B * b.T));
  for (int64_t r = 0; r < b.B; ++r) {
    int32_t count = 0;
    for (int64_t t = 0; t < b.T; ++t) {
      const int64_t i = r * b.T + t;
      if (!cfg.offset_positions()) {
        pos[i] = static_cast<int32_t>(t);
      } else if (b.tokens[i] != cfg.pad_token_id) {
        pos[i] = cfg.pad_token_id + ++count;
      } else {
        pos[i] = cfg.pad_token_id;
      }
    }
  }
  return pos;
}

namespace {

void check_batch(const EncoderBatch& b, const BertConfig& cfg) {
  const int64_t N = b.B * b.T;
  if (b.B <= 0 || b.T <= 0) fail("model", "empty batch");
  if (static_cast<int64_t>(b.tokens.size()) != N) fail("model", "batch tokens do not match its shape");
  if (!b.type_ids.empty() && static_cast<int64_t>(b.type_ids.size()) != N)
    fail("model", "batch type ids do not match its shape");
  if (!b.mask.empty() && static_cast<int64_t>(b.mask.size()) != N) fail("model", "batch mask does not match its shape");
  if (b.T > cfg.max_tokens())
    fail("model", "sequence of " + std::to_string(b.T) + " tokens is longer than the " +
                      std::to_string(cfg.max_tokens()) + " positions the model has");
  for (int64_t i = 0; i < N; ++i) {
    if (b.tokens[i] < 0 || b.tokens[i] >= cfg.vocab_size)
      fail("model", "token id " + std::to_string(b.tokens[i]) + " is outside the vocabulary of " +
                        std::to_string(cfg.vocab_size));
    if (!b.type_ids.empty() && (b.type_ids[i] < 0 || b.type_ids[i] >= cfg.type_vocab_size))
      fail("model", "token type id " + std::to_string(b.type_ids[i]) + " is outside the model's " +
                        std::to_string(cfg.type_vocab_size) + " types");
  }
}

template <typename T>
struct BertCtx {
  const BertConfig* cfg;
  int64_t B, seq, N;  // batch rows, sequence length, B·seq
  const uint8_t* mask;
  bool training;
  bool keep;  // s is this layer's own saved state (else shared scratch)
  T* sc_in;   // [N, dim] scratch for x_in when not kept
  T* sc_x1;   // [N, dim]
  T* sc_act;  // [N, hidden]
  T* sc_out;  // [N, dim] projection outputs
};

template <typename T>
ops::AttnShape attn_shape(const BertCtx<T>& c) {
  ops::AttnShape as;
  as.B = c.B;
  as.Tq = c.seq;
  as.Tk = c.seq;
  as.Hq = c.cfg->n_heads;
  as.Hkv = c.cfg->n_heads;
  as.D = c.cfg->head_dim();
  as.scale = 1.0 / std::sqrt(static_cast<double>(as.D));
  as.causal = false;
  as.key_mask = c.mask;
  return as;
}

// One layer; x [N, dim] is replaced by the layer output.
template <typename T>
void layer_forward(BertLayer<T>& L, T* x, BertLayerSaved<T>& s, const BertCtx<T>& c) {
  const BertConfig& cfg = *c.cfg;
  const int64_t N = c.N, C = cfg.dim, H = cfg.hidden_dim;
  const bool keep_in = c.keep && (L.wq.keeps_input() || L.wk.keeps_input() || L.wv.keeps_input());
  T* x_in = keep_in ? s.x_in.get(N * C) : c.sc_in;
  std::memcpy(x_in, x, sizeof(T) * N * C);
  T* q = s.q.get(N * C);
  T* k = s.k.get(N * C);
  T* v = s.v.get(N * C);
  L.wq.forward(x_in, q, N, c.training);
  L.wk.forward(x_in, k, N, c.training);
  L.wv.forward(x_in, v, N, c.training);
  T* att = s.att.get(N * C);
  ops::attention_forward<T>(q, k, v, att, s.lse.get(c.B * cfg.n_heads * c.seq), attn_shape(c));
  L.wo.forward(att, c.sc_out, N, c.training);
  T* s1 = s.s1.get(N * C);
  add_to(s1, x_in, c.sc_out, N * C);
  const bool keep_x1 = c.keep && L.w_up.keeps_input();
  T* x1 = keep_x1 ? s.x1.get(N * C) : c.sc_x1;
  ops::layernorm_forward<T>(s1, L.attn_norm_w.data.get(), L.attn_norm_b.data.get(), x1, s.mean1.get(N),
                            s.rstd1.get(N), N, C, cfg.norm_eps);
  T* u = s.u.get(N * H);
  L.w_up.forward(x1, u, N, c.training);
  const bool keep_act = c.keep && L.w_down.keeps_input();
  T* act = keep_act ? s.act.get(N * H) : c.sc_act;
  ops::gelu_forward<T>(u, act, N * H);
  L.w_down.forward(act, c.sc_out, N, c.training);
  T* s2 = s.s2.get(N * C);
  add_to(s2, x1, c.sc_out, N * C);
  ops::layernorm_forward<T>(s2, L.out_norm_w.data.get(), L.out_norm_b.data.get(), x, s.mean2.get(N),
                            s.rstd2.get(N), N, C, cfg.norm_eps);
}

template <typename T>
T* grad_or_null(Param<T>& p) {
  return p.frozen() ? nullptr : p.grad.get();
}

template <typename Impl, typename T>
void layer_backward(BertLayer<T>& L, BertLayerSaved<T>& s, T* dx, const BertCtx<T>& c, Impl& w) {
  const BertConfig& cfg = *c.cfg;
  const int64_t N = c.N, C = cfg.dim, H = cfg.hidden_dim;
  // ---- x = LN2(s2), s2 = x1 + down(gelu(up(x1)))
  T* ds = w.ds.get(N * C);
  ops::layernorm_backward<T>(dx, s.s2.data(), L.out_norm_w.data.get(), s.mean2.data(), s.rstd2.data(), ds,
                             grad_or_null(L.out_norm_w), grad_or_null(L.out_norm_b), N, C);
  T* dh = w.dh.get(N * H);
  L.w_down.backward(s.act.data(), ds, dh, N, false);
  ops::gelu_backward<T>(dh, s.u.data(), dh, N * H);
  T* dx1 = w.dx1.get(N * C);
  std::memcpy(dx1, ds, sizeof(T) * N * C);  // residual
  L.w_up.backward(s.x1.data(), dh, dx1, N, true);
  // ---- x1 = LN1(s1), s1 = x_in + o(attention(q(x_in), k(x_in), v(x_in)))
  ops::layernorm_backward<T>(dx1, s.s1.data(), L.attn_norm_w.data.get(), s.mean1.data(), s.rstd1.data(), ds,
                             grad_or_null(L.attn_norm_w), grad_or_null(L.attn_norm_b), N, C);
  T* datt = w.datt.get(N * C);
  L.wo.backward(s.att.data(), ds, datt, N, false);
  T* dq = w.dq.get(N * C);
  T* dk = w.dk.get(N * C);
  T* dv = w.dv.get(N * C);
  ops::attention_backward<T>(s.q.data(), s.k.data(), s.v.data(), s.att.data(), datt, s.lse.data(), dq, dk, dv,
                             attn_shape(c));
  std::memcpy(dx, ds, sizeof(T) * N * C);  // residual
  L.wq.backward(s.x_in.data(), dq, dx, N, true);
  L.wk.backward(s.x_in.data(), dk, dx, N, true);
  L.wv.backward(s.x_in.data(), dv, dx, N, true);
}

}  // namespace

template <typename T>
const T* BertModel<T>::forward(const EncoderBatch& b, bool training) {
  check_batch(b, cfg);
  Impl& w = *impl_;
  const int64_t N = b.B * b.T, C = cfg.dim;
  std::vector<int32_t> pos = positions(b);
  std::vector<int32_t> types = b.type_ids.empty() ? std::vector<int32_t>(N, 0) : b.type_ids;

  // e = tok[id] + pos[p] + type[tt]; x = LN(e)
  T* e = w.e.get(N * C);
  T* x = w.x.get(N * C);
  ops::embedding_forward<T>(tok_embd.data.get(), b.tokens.data(), e, N, cfg.vocab_size, C);
  ops::embedding_forward<T>(pos_embd.data.get(), pos.data(), x, N, cfg.max_positions, C);
  add_to(e, e, x, N * C);
  ops::embedding_forward<T>(type_embd.data.get(), types.data(), x, N, cfg.type_vocab_size, C);
  add_to(e, e, x, N * C);
  ops::layernorm_forward<T>(e, embd_norm_w.data.get(), embd_norm_b.data.get(), x, w.mean_e.get(N), w.rstd_e.get(N),
                            N, C, cfg.norm_eps);

  BertCtx<T> c{&cfg, b.B, b.T, N, b.mask_or_null(), training, training,
               w.sc_in.get(N * C), w.sc_x1.get(N * C), w.sc_act.get(N * cfg.hidden_dim), w.sc_out.get(N * C)};
  if (training) w.saved.resize(cfg.n_layers);
  for (int64_t l = 0; l < cfg.n_layers; ++l) layer_forward(layers[l], x, training ? w.saved[l] : w.scratch, c);

  w.ready = training;
  if (training) {
    w.B = b.B;
    w.seq = b.T;
    w.tokens = b.tokens;
    w.types = std::move(types);
    w.pos = std::move(pos);
    w.mask = b.mask;
    w.has_mask = !b.mask.empty();
    int64_t kept = w.e.bytes() + w.mean_e.bytes() + w.rstd_e.bytes();
    for (auto& s : w.saved) kept += s.bytes();
    last_saved_bytes_ = kept;
  }
  return x;
}

template <typename T>
void BertModel<T>::backward(const T* dhidden) {
  Impl& w = *impl_;
  if (!w.ready) internal_fail("model", "backward without a training forward");
  w.ready = false;
  const int64_t N = w.B * w.seq, C = cfg.dim;
  BertCtx<T> c{&cfg, w.B, w.seq, N, w.has_mask ? w.mask.data() : nullptr, true, true,
               nullptr, nullptr, nullptr, nullptr};
  T* dx = w.dx.get(N * C);
  std::memcpy(dx, dhidden, sizeof(T) * N * C);
  for (int64_t l = cfg.n_layers - 1; l >= 0; --l) layer_backward(layers[l], w.saved[l], dx, c, w);
  // Embedding norm, then the three tables share de.
  T* de = w.ds.get(N * C);
  ops::layernorm_backward<T>(dx, w.e.data(), embd_norm_w.data.get(), w.mean_e.data(), w.rstd_e.data(), de,
                             grad_or_null(embd_norm_w), grad_or_null(embd_norm_b), N, C);
  if (!tok_embd.frozen())
    ops::embedding_backward<T>(de, w.tokens.data(), tok_embd.grad.get(), N, cfg.vocab_size, C);
  if (!pos_embd.frozen())
    ops::embedding_backward<T>(de, w.pos.data(), pos_embd.grad.get(), N, cfg.max_positions, C);
  if (!type_embd.frozen())
    ops::embedding_backward<T>(de, w.types.data(), type_embd.grad.get(), N, cfg.type_vocab_size, C);
}

template class BertModel<float>;
template class BertModel<double>;

}  // namespace peft
