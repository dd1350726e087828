// Loading Llama weights from GGUF, and random initialisation.
#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/rng.h"
#include "io/gguf.h"
#include "model/llama.h"
#include "model/weights_fit.h"

namespace peft {

namespace {

template <typename T>
void load_param(const GgufFile& f, Param<T>& p) {
  const GgufTensorInfo* info = f.find_tensor(p.name);
  if (!info) fail("model", f.path() + ": tensor '" + p.name + "' is missing");
  if (info->shape != p.shape)
    fail("model", f.path() + ": tensor '" + p.name + "' has shape " + shape_str(info->shape) + ", expected " +
                      shape_str(p.shape));
  Tensor t = f.tensor(p.name).to_f32();
  const float* src = t.ptr<float>();
  T* dst = p.data.get();
  for (int64_t i = 0; i < p.numel(); ++i) dst[i] = static_cast<T>(src[i]);
  // The model now has its own copy: drop the file's pages so loading does not
  // hold the weights twice.
  f.release_pages(p.name);
}

}  // namespace

template <typename T>
std::unique_ptr<LlamaModel<T>> load_llama_gguf(const GgufFile& f) {
  LlamaConfig cfg = config_from_gguf(f);
  cfg.validate();
  check_gguf_holds_weights(f, llama_weight_count(cfg), cfg.describe());
  auto m = std::make_unique<LlamaModel<T>>(cfg);
  for (Param<T>* p : m->base_params()) load_param(f, *p);
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

template std::unique_ptr<LlamaModel<float>> load_llama_gguf<float>(const GgufFile&);
template std::unique_ptr<LlamaModel<double>> load_llama_gguf<double>(const GgufFile&);
template void init_llama_random<float>(LlamaModel<float>&, uint64_t);
template void init_llama_random<double>(LlamaModel<double>&, uint64_t);

}  // namespace peft

namespace peft {

template <typename T>
void save_llama_gguf(LlamaModel<T>& m, const GgufFile* source, const std::string& path) {
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
  w.set("general.file_type", GgufValue::u32(0));  // all F32
  std::vector<Tensor> keep;
  for (Param<T>* p : m.base_params()) {
    Tensor t = Tensor::zeros(DType::F32, p->shape);
    float* d = t.mutable_ptr<float>();
    for (int64_t i = 0; i < p->numel(); ++i) d[i] = static_cast<float>(p->data[i]);
    w.add_tensor(p->name, t);
    keep.push_back(t);
  }
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

template void save_llama_gguf<float>(LlamaModel<float>&, const GgufFile*, const std::string&);
template void save_llama_gguf<double>(LlamaModel<double>&, const GgufFile*, const std::string&);

}  // namespace peft
