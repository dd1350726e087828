// Sentence embeddings from a BERT-family encoder folder: the model, then the
// folder's pooling, then (when the folder has a Normalize module) L2
// normalisation, with optional Matryoshka truncation to the first `dims`
// columns. Truncation comes before normalisation, so a truncated embedding
// of a normalising model is again a unit vector (what MatryoshkaLoss and
// cosine similarity use). The folder's prompts are the caller's to prepend;
// a Pooling module with include_prompt = false (prompt tokens left out of the
// mean) is read into `folder` but not applied here yet, since the batch does
// not say where a prompt ends.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/batch.h"
#include "model/bert.h"
#include "model/embedding_folder.h"

namespace peft {

template <typename T>
class EncoderEmbedder {
 public:
  EmbeddingFolder folder;
  std::unique_ptr<BertModel<T>> model;

  // Reads the folder (read_embedding_folder) and loads its encoder, or loads
  // a llama.cpp bert .gguf file (its pooling type, L2-normalised).
  static std::unique_ptr<EncoderEmbedder<T>> load(const std::string& dir);
  EncoderEmbedder(EmbeddingFolder f, std::unique_ptr<BertModel<T>> m);

  int64_t dim() const { return model->cfg.dim; }
  // Checks 0 < dims ≤ dim() (0 means dim()); throws InputError "[embed] ...".
  int64_t resolve_dims(int64_t dims) const;

  // Embeddings [B, dims] of a batch. With `training`, keeps what backward needs.
  const T* forward(const EncoderBatch& b, int64_t dims, bool training);
  // dy [B, dims] = dL/d(embeddings) of the last training forward; accumulates
  // gradients into the model's trainable tensors and adapters.
  void backward(const T* dy);

 private:
  std::vector<T> pooled_, out_, norm_, dpooled_, dhidden_;
  std::vector<uint8_t> mask_;
  int64_t B_ = 0, T_ = 0, dims_ = 0;
};

}  // namespace peft
