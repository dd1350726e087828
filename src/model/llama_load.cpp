// Loading Llama weights from GGUF, and random initialisation.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <optional>
#include <type_traits>

#include "core/error.h"
#include "core/rng.h"
#include "io/gguf.h"
#include "model/llama.h"
#include "ops/backend.h"
#include "model/weights_fit.h"

namespace peft {

namespace {

// Matrices that may be held in a storage type: linear weights, the token
// embedding and the output head (not norms or biases).
template <typename T>
bool storable_param(const Param<T>& p) {
  return std::is_same_v<T, float> && p.shape.size() == 2 && (p.group == "base" || p.group == "embed");
}

template <typename T>
void load_param(const GgufFile& f, Param<T>& p, BaseDType policy) {
  const GgufTensorInfo* info = f.find_tensor(p.name);
  if (!info) fail("model", f.path() + ": tensor '" + p.name + "' is missing");
  if (info->shape != p.shape)
    fail("model", f.path() + ": tensor '" + p.name + "' has shape " + shape_str(info->shape) + ", expected " +
                      shape_str(p.shape));
  Tensor raw = f.tensor(p.name);
  if (storable_param(p)) {
    const DType st = base_storage_type(policy, raw.dtype());
    if (st != DType::F32 && storable_as(st, p.shape[1])) {
      // Straight from the file's bytes into the storage type: no f32 copy.
      p.hold_as(ops::backend().store_encoded(st, raw.dtype(), raw.data(), p.shape[0], p.shape[1]));
      f.release_pages(p.name);
      return;
    }
  }
  Tensor t = raw.to_f32();
  const float* src = t.ptr<float>();
  T* dst = p.data.get();
  for (int64_t i = 0; i < p.numel(); ++i) dst[i] = static_cast<T>(src[i]);
  // The model now has its own copy: drop the file's pages so loading does not
  // hold the weights twice.
  f.release_pages(p.name);
}

}  // namespace

template <typename T>
std::unique_ptr<LlamaModel<T>> load_llama_gguf(const GgufFile& f, BaseDType policy) {
  LlamaConfig cfg = config_from_gguf(f);
  cfg.validate();
  check_gguf_holds_weights(f, llama_weight_count(cfg), cfg.describe());
  // Uninitialised buffers: load_param writes every value of a dense tensor
  // and drops the buffer of a stored one before touching it, so loading a
  // quantized base never holds its f32 size.
  auto m = std::make_unique<LlamaModel<T>>(cfg, /*zeroed=*/false);
  for (Param<T>* p : m->base_params()) load_param(f, *p, policy);
  return m;
}

template <typename T>
void init_llama_random(LlamaModel<T>& m, uint64_t seed) {
  Rng rng(seed);
  const double out_scale = 1.0 / std::sqrt(2.0 * static_cast<double>(m.cfg.n_layers));
  for (Param<T>* p : m.base_params()) {
    T* d = p->data.get();
    if (p->group == "norm") {
      for (int64_t i = 0; i < p->numel(); ++i) d[i] = T(1);
      continue;
    }
    if (p->group == "bias") continue;  // zeros
    bool residual_out = p->name.find("attn_output") != std::string::npos || p->name.find("ffn_down") != std::string::npos;
    double sd = 0.02 * (residual_out ? out_scale : 1.0);
    for (int64_t i = 0; i < p->numel(); ++i) d[i] = static_cast<T>(sd * rng.normal());
  }
}

template std::unique_ptr<LlamaModel<float>> load_llama_gguf<float>(const GgufFile&, BaseDType);
template std::unique_ptr<LlamaModel<double>> load_llama_gguf<double>(const GgufFile&, BaseDType);
template void init_llama_random<float>(LlamaModel<float>&, uint64_t);
template void init_llama_random<double>(LlamaModel<double>&, uint64_t);

}  // namespace peft

namespace peft {

namespace {

// One base tensor as it will be written: in `target`, from the parameter's
// dense values or its stored rows (written as they are when the types agree).
template <typename T>
Tensor tensor_for_save(const Param<T>& p, DType target) {
  if (p.is_stored() && p.stored.dtype() == target) return Tensor::view(target, p.shape, p.stored.row(0), nullptr);
  Tensor t = Tensor::zeros(target, p.shape);
  if (p.is_stored()) {
    StoredMatrix conv = StoredMatrix::convert(target, p.stored.dtype(), p.stored.row(0), p.shape[0], p.shape[1]);
    std::memcpy(t.mutable_data(), conv.row(0), static_cast<size_t>(conv.nbytes()));
    return t;
  }
  std::vector<float> f(static_cast<size_t>(p.numel()));
  for (int64_t i = 0; i < p.numel(); ++i) f[i] = static_cast<float>(p.data[i]);
  if (target == DType::F32) {
    std::memcpy(t.mutable_data(), f.data(), sizeof(float) * f.size());
    return t;
  }
  StoredMatrix conv = StoredMatrix::from_f32(target, f.data(), p.shape[0], p.shape[1]);
  std::memcpy(t.mutable_data(), conv.row(0), static_cast<size_t>(conv.nbytes()));
  return t;
}

}  // namespace

template <typename T>
void save_llama_gguf(LlamaModel<T>& m, const GgufFile* source, const std::string& path,
                     std::optional<DType> matrix_type) {
  GgufWriter w;
  const LlamaConfig& c = m.cfg;
  if (source) {
    // Everything but the keys the writer derives itself.
    for (const std::string& k : source->keys())
      if (k != "general.alignment" && k != "general.file_type") w.set(k, source->get(k));
  } else {
    const std::string a = c.arch;
    w.set("general.architecture", GgufValue::string(a));
    w.set("general.name", GgufValue::string("peft.cpp model"));
    w.set(a + ".context_length", GgufValue::u32(static_cast<uint32_t>(c.context_length)));
    w.set(a + ".embedding_length", GgufValue::u32(static_cast<uint32_t>(c.dim)));
    w.set(a + ".feed_forward_length", GgufValue::u32(static_cast<uint32_t>(c.hidden_dim)));
    w.set(a + ".block_count", GgufValue::u32(static_cast<uint32_t>(c.n_layers)));
    w.set(a + ".attention.head_count", GgufValue::u32(static_cast<uint32_t>(c.n_heads)));
    w.set(a + ".attention.head_count_kv", GgufValue::u32(static_cast<uint32_t>(c.n_kv_heads)));
    w.set(a + ".attention.layer_norm_rms_epsilon", GgufValue::f32(static_cast<float>(c.norm_eps)));
    w.set(a + ".rope.freq_base", GgufValue::f32(static_cast<float>(c.rope_theta)));
    w.set(a + ".rope.dimension_count", GgufValue::u32(static_cast<uint32_t>(c.head_dim)));
  }
  // Matrices in matrix_type when given, else as each is held (stored
  // type, or F32); norms and biases always F32.
  std::vector<Tensor> keep;
  std::map<DType, int64_t> counts;
  for (Param<T>* p : m.base_params()) {
    DType target = p->is_stored() ? p->stored.dtype() : DType::F32;
    if (matrix_type && storable_param(*p)) target = *matrix_type;
    if (target != DType::F32 && !storable_as(target, p->shape.back())) target = DType::F32;
    Tensor t = tensor_for_save(*p, target);
    counts[target] += p->numel();
    w.add_tensor(p->name, t);
    keep.push_back(t);
  }
  DType most = DType::F32;
  for (auto& [t, n] : counts)
    if (t != DType::F32 && n > counts[most]) most = t;
  w.set("general.file_type", GgufValue::u32(gguf_file_type_of(most)));
  // llama3 scaling lives in a tensor, not in the parameters.
  const std::vector<float> factors = rope_freq_factors(c);
  if (!factors.empty()) {
    Tensor t = Tensor::zeros(DType::F32, Shape{static_cast<int64_t>(factors.size())});
    std::copy(factors.begin(), factors.end(), t.mutable_ptr<float>());
    w.add_tensor("rope_freqs.weight", t);
    keep.push_back(t);
  }
  w.write(path);
}

template void save_llama_gguf<float>(LlamaModel<float>&, const GgufFile*, const std::string&, std::optional<DType>);
template void save_llama_gguf<double>(LlamaModel<double>&, const GgufFile*, const std::string&, std::optional<DType>);

}  // namespace peft
