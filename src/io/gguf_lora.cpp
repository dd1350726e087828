#include "io/gguf_lora.h"

#include <cmath>

#include "core/error.h"
#include "io/gguf.h"

namespace peft {

namespace {

Tensor f32_tensor(const std::vector<float>& v, Shape shape) {
  Tensor t = Tensor::zeros(DType::F32, shape);
  std::copy(v.begin(), v.end(), t.mutable_ptr<float>());
  return t;
}

}  // namespace

double write_gguf_lora(const std::string& path, const std::string& architecture,
                       const std::vector<GgufLoraTensors>& layers) {
  if (architecture.empty()) fail("gguf-lora", "the base model's architecture is needed");
  if (layers.empty()) fail("gguf-lora", path + ": no adapted layer to export");
  // One alpha for the file: the first layer's s · r. Others fold their own
  // s / (alpha / r) into B.
  const double alpha = layers.front().scale * layers.front().rank;
  if (!(std::isfinite(alpha) && alpha != 0)) fail("gguf-lora", "cannot export a layer scale of zero or non-finite");
  GgufWriter w;
  w.set("general.architecture", GgufValue::string(architecture));
  w.set("general.type", GgufValue::string("adapter"));
  w.set("adapter.type", GgufValue::string("lora"));
  w.set("adapter.lora.alpha", GgufValue::f32(static_cast<float>(alpha)));
  for (const GgufLoraTensors& p : layers) {
    const int64_t in = p.in, out = p.out;
    if (static_cast<int64_t>(p.A.size()) != p.rank * in || static_cast<int64_t>(p.B.size()) != out * p.rank)
      fail("gguf-lora", "layer '" + p.name + "': factors do not match rank " + std::to_string(p.rank));
    const double fold = p.scale / (alpha / p.rank);
    std::vector<float> B(out * p.rank);
    if (!p.gguf_rows.empty() && static_cast<int64_t>(p.gguf_rows.size()) != out)
      fail("gguf-lora", "row order for '" + p.name + "' does not match its rows");
    std::vector<char> seen(out, 0);
    for (int64_t i = 0; i < out; ++i) {
      const int64_t g = p.gguf_rows.empty() ? i : p.gguf_rows[i];
      if (g < 0 || g >= out || seen[g]) fail("gguf-lora", "row order for '" + p.name + "' is not a permutation");
      seen[g] = 1;
      for (int k = 0; k < p.rank; ++k) B[g * p.rank + k] = static_cast<float>(fold * p.B[i * p.rank + k]);
    }
    w.add_tensor(p.name + ".weight.lora_a", f32_tensor(p.A, {p.rank, in}));
    w.add_tensor(p.name + ".weight.lora_b", f32_tensor(B, {out, p.rank}));
  }
  w.write(path);
  return alpha;
}

}  // namespace peft
