#include "embed/encoder_embedder.h"

#include <algorithm>
#include <filesystem>

#include "core/error.h"
#include "io/gguf.h"
#include "model/bert_load.h"
#include "ops/l2_normalize.h"
#include "ops/pooling.h"

namespace peft {

template <typename T>
std::unique_ptr<EncoderEmbedder<T>> EncoderEmbedder<T>::load(const std::string& dir) {
  std::error_code ec;
  if (dir.size() > 5 && dir.compare(dir.size() - 5, 5, ".gguf") == 0 && std::filesystem::is_regular_file(dir, ec)) {
    // A GGUF file carries its pooling but not whether to normalise; llama.cpp's
    // embedding tool normalises by default, and so do the sentence-transformers
    // models converted to it, so we do too.
    auto g = GgufFile::open(dir);
    EmbeddingFolder f;
    f.root = dir;
    f.transformer_dir = dir;
    f.pooling = bert_gguf_pooling(*g);
    f.normalize = true;
    auto m = load_bert_gguf<T>(*g);
    f.dim = m->cfg.dim;
    return std::make_unique<EncoderEmbedder<T>>(std::move(f), std::move(m));
  }
  EmbeddingFolder f = read_embedding_folder(dir);
  auto m = load_bert_hf<T>(f.transformer_dir);
  if (f.dim != 0 && f.dim != m->cfg.dim)
    fail("model", dir + ": the Pooling module expects " + std::to_string(f.dim) +
                      "-dimensional token states, but the encoder's hidden size is " + std::to_string(m->cfg.dim));
  return std::make_unique<EncoderEmbedder<T>>(std::move(f), std::move(m));
}

template <typename T>
EncoderEmbedder<T>::EncoderEmbedder(EmbeddingFolder f, std::unique_ptr<BertModel<T>> m)
    : folder(std::move(f)), model(std::move(m)) {}

template <typename T>
int64_t EncoderEmbedder<T>::resolve_dims(int64_t dims) const {
  if (dims == 0) return dim();
  if (dims < 0 || dims > dim())
    fail("embed", "--dims " + std::to_string(dims) + " is outside 1.." + std::to_string(dim()) +
                      " (the model's embedding size)");
  return dims;
}

// pooled = pool(hidden) [B, C];  out = normalize(pooled[:, :dims]) or pooled[:, :dims]
template <typename T>
const T* EncoderEmbedder<T>::forward(const EncoderBatch& b, int64_t dims, bool training) {
  dims = resolve_dims(dims);
  const int64_t C = dim();
  const T* hidden = model->forward(b, training);
  pooled_.resize(b.B * C);
  out_.resize(b.B * dims);
  ops::pool_forward<T>(hidden, b.mask_or_null(), pooled_.data(), b.B, b.T, C, folder.pooling);
  if (folder.normalize) {
    norm_.resize(b.B);
    ops::l2_normalize_forward<T>(pooled_.data(), out_.data(), norm_.data(), b.B, C, dims);
  } else {
    for (int64_t r = 0; r < b.B; ++r) std::copy_n(pooled_.data() + r * C, dims, out_.data() + r * dims);
  }
  B_ = b.B;
  T_ = b.T;
  dims_ = dims;
  mask_ = b.mask;
  return out_.data();
}

template <typename T>
void EncoderEmbedder<T>::backward(const T* dy) {
  const int64_t C = dim();
  dpooled_.assign(B_ * C, T(0));
  if (folder.normalize) {
    ops::l2_normalize_backward<T>(dy, out_.data(), norm_.data(), dpooled_.data(), B_, C, dims_);
  } else {
    for (int64_t r = 0; r < B_; ++r) std::copy_n(dy + r * dims_, dims_, dpooled_.data() + r * C);
  }
  dhidden_.resize(B_ * T_ * C);
  ops::pool_backward<T>(dpooled_.data(), mask_.empty() ? nullptr : mask_.data(), dhidden_.data(), B_, T_, C,
                        folder.pooling);
  model->backward(dhidden_.data());
}

template class EncoderEmbedder<float>;
template class EncoderEmbedder<double>;

}  // namespace peft
