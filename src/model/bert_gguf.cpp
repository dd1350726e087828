// BERT-family encoders from llama.cpp GGUF files (see bert_load.h).
#include <cstring>

#include "core/error.h"
#include "io/gguf.h"
#include "model/bert_load.h"
#include "model/weights_fit.h"

namespace peft {

BertConfig bert_config_from_gguf(const GgufFile& f) {
  const std::string arch = f.get_string("general.architecture");
  if (arch != "bert")
    fail("model", f.path() + ": architecture '" + arch + "' is not a BERT encoder (expected 'bert')");
  if (f.get_bool("bert.attention.causal", false))
    fail("model", f.path() + ": bert.attention.causal is true; the encoder attends in both directions");
  BertConfig c;
  c.arch = "bert";
  c.dim = f.get_int("bert.embedding_length");
  c.hidden_dim = f.get_int("bert.feed_forward_length");
  c.n_layers = f.get_int("bert.block_count");
  c.n_heads = f.get_int("bert.attention.head_count");
  c.norm_eps = f.get_float("bert.attention.layer_norm_epsilon", 1e-12);
  c.pad_token_id = static_cast<int32_t>(f.get_int("tokenizer.ggml.padding_token_id", 0));
  // Table sizes from the tensors themselves: the vocabulary may be padded, the
  // position table cut (roberta), and token_types absent.
  auto rows = [&](const char* name, bool required) -> int64_t {
    const GgufTensorInfo* t = f.find_tensor(name);
    if (!t) {
      if (required) fail("model", f.path() + ": tensor '" + std::string(name) + "' is missing");
      return 0;
    }
    if (t->shape.size() != 2 || t->shape[1] != c.dim)
      fail("model", f.path() + ": tensor '" + std::string(name) + "' has shape " + shape_str(t->shape) +
                        ", expected [rows, " + std::to_string(c.dim) + "]");
    return t->shape[0];
  };
  c.vocab_size = rows("token_embd.weight", true);
  c.max_positions = rows("position_embd.weight", true);
  c.type_vocab_size = std::max<int64_t>(rows("token_types.weight", false), 1);
  if (c.pad_token_id >= c.vocab_size) c.pad_token_id = 0;
  c.validate();
  return c;
}

ops::PoolMode bert_gguf_pooling(const GgufFile& f) {
  const int64_t t = f.get_int("bert.pooling_type", 1);
  switch (t) {
    case 1: return ops::PoolMode::Mean;
    case 2: return ops::PoolMode::Cls;
    case 3: return ops::PoolMode::Last;
    default:
      fail("model", f.path() + ": bert.pooling_type " + std::to_string(t) +
                        " is not an embedding pooling (supported: 1 mean, 2 cls, 3 last)");
  }
}

template <typename T>
std::unique_ptr<BertModel<T>> load_bert_gguf(const GgufFile& f) {
  BertConfig c = bert_config_from_gguf(f);
  // Embeddings (tokens, positions) and per layer q, k, v, o and the two
  // feed-forward matrices: checked against the file before allocating.
  const double d = static_cast<double>(c.dim), h = static_cast<double>(c.hidden_dim);
  const double need = (static_cast<double>(c.vocab_size) + static_cast<double>(c.max_positions)) * d +
                      static_cast<double>(c.n_layers) * (4 * d * d + 2 * d * h);
  check_gguf_holds_weights(f, need, "bert: dim " + std::to_string(c.dim) + ", hidden " + std::to_string(c.hidden_dim) +
                                        ", " + std::to_string(c.n_layers) + " layers");
  auto m = std::make_unique<BertModel<T>>(c);
  for (Param<T>* p : m->base_params()) {
    const GgufTensorInfo* info = f.find_tensor(p->name);
    if (!info && p == &m->type_embd) continue;  // no token types: the zero row
    if (!info) fail("model", f.path() + ": tensor '" + p->name + "' is missing");
    if (info->shape != p->shape)
      fail("model", f.path() + ": tensor '" + p->name + "' has shape " + shape_str(info->shape) + ", expected " +
                        shape_str(p->shape));
    Tensor t = f.tensor(p->name).to_f32();
    const float* src = t.ptr<float>();
    for (int64_t i = 0; i < p->numel(); ++i) p->data[i] = static_cast<T>(src[i]);
    f.release_pages(p->name);
  }
  return m;
}

template std::unique_ptr<BertModel<float>> load_bert_gguf<float>(const GgufFile&);
template std::unique_ptr<BertModel<double>> load_bert_gguf<double>(const GgufFile&);

}  // namespace peft
