// Loading Llama weights from GGUF, and random initialisation.
#include <cmath>

#include "core/error.h"
#include "core/rng.h"
#include "io/gguf.h"
#include "model/llama.h"

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
}

}  // namespace

template <typename T>
std::unique_ptr<LlamaModel<T>> load_llama_gguf(const GgufFile& f) {
  LlamaConfig cfg = config_from_gguf(f);
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
