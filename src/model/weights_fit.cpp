#include "model/weights_fit.h"

#include <cstdio>

#include "core/error.h"
#include "io/gguf.h"

namespace peft {

void check_gguf_holds_weights(const GgufFile& f, double weights_needed, const std::string& config_line) {
  double held = 0;
  for (const auto& t : f.tensors()) held += static_cast<double>(shape_numel(t.shape));
  if (weights_needed > held) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "%.4g weights, but its tensors hold %.4g", weights_needed, held);
    fail("model", f.path() + ": the configuration (" + config_line + ") needs " + buf);
  }
}

double llama_weight_count(const LlamaConfig& c) {
  const double d = static_cast<double>(c.dim), h = static_cast<double>(c.hidden_dim);
  const double q = static_cast<double>(c.n_heads) * static_cast<double>(c.head_dim);
  const double kv = static_cast<double>(c.n_kv_heads) * static_cast<double>(c.head_dim);
  const double vocab = static_cast<double>(c.vocab_size);
  const double layer = d * q + 2 * d * kv + q * d + 3 * d * h + 2 * d;
  return vocab * d * (c.tied_embeddings ? 1 : 2) + static_cast<double>(c.n_layers) * layer + d;
}

}  // namespace peft
