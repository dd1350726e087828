// One interface for every embedding model: texts in, float embeddings out,
// for inference (peft embed, eval, search, serve) and for contrastive
// training (the embedding trainer).
//
// What loads (Embedder::load):
//   - a sentence-transformers folder (modules.json, 1_Pooling, 2_Normalize,
//     config_sentence_transformers.json) or a plain Hugging Face folder of a
//     BERT-family encoder (bert, roberta, xlm-roberta);
//   - a llama.cpp bert GGUF (its pooling type, L2-normalised);
//   - any Llama-family model we load (GGUF file, or HF folder, with or
//     without sentence-transformers modules) as a decoder embedder: by
//     default last-token pooling over the final normalised hidden states, L2
//     normalised (what Qwen3-Embedding and e5-mistral do); a sentence-
//     transformers folder's own Pooling/Normalize modules win.
// An adapter (a PEFT folder, EmbedderOptions::adapter) is put into the
// model's adapter slots unmerged.
//
// The pipeline for n texts, each with its prompt p (see resolve_prompt):
//   ids_i   = tokenizer(p + text_i), with the post-processor's special
//             tokens ([CLS] … [SEP] for BERT; BOS/EOS as the tokenizer adds
//             them for decoders), truncated to max_length tokens
//   batch   = ids right-padded to the longest row: tokens [B, T], mask [B, T]
//   hidden  = model(batch)                                   [B·T, C]
//             (encoder: bidirectional with padded keys masked; decoder:
//             causal, so padding after a row never reaches its tokens)
//   pooled  = pool(hidden, pool_mask)                        [B, C]
//             cls: row's first token; mean: over real tokens; last: the last
//             real token. With include_prompt = false (a Pooling module
//             setting) the prompt's tokens are left out of pool_mask.
//   y       = normalize(pooled[:, :dims]) or pooled[:, :dims] [B, dims]
//             (Matryoshka truncation first, then L2, so truncated
//             embeddings of a normalising model are unit vectors again)
//
// Threading: one Embedder is not safe to call from several threads at once
// (the model keeps activations); the math inside uses every core.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/adapter_slot.h"
#include "dist/communicator.h"
#include "embed/adapter_settings.h"
#include "model/bert.h"
#include "model/embedding_folder.h"
#include "model/linear.h"
#include "model/llama.h"
#include "tokenizer/tokenizer.h"
#include "train/method.h"

namespace peft {

struct EmbedderOptions {
  // A PEFT adapter folder ("" for none), applied unmerged at scale 1. When
  // it holds embedding_settings.json (embed/adapter_settings.h), its pooling,
  // normalisation and max length replace the model's as the defaults below.
  std::string adapter;
  // "" keeps the model's (or the adapter's) pooling; "cls", "mean" or "last"
  // overrides it.
  std::string pooling;
  // -1 keeps the model's (or the adapter's) normalisation; 0 turns it off, 1 on.
  int normalize = -1;
  // Default truncation in tokens (special tokens included); 0: the
  // adapter's, else the folder's max_seq_length, else the model's position
  // limit (decoders: at most 8192). Larger than the model's position limit fails.
  int64_t max_length = 0;
};

struct EmbedOptions {
  // A prompt name from config_sentence_transformers.json, or literal text
  // prepended to every input; "" uses the folder's default_prompt_name (no
  // prompt when there is none).
  std::string prompt;
  int64_t batch_size = 32;  // texts per forward
  int64_t max_length = 0;   // 0: the embedder's max_length()
  int64_t dims = 0;         // Matryoshka: keep the first dims columns; 0 = dim()
  // Called after each batch with (texts done, total); with several ranks,
  // with this rank's texts done and their total.
  std::function<void(int64_t, int64_t)> progress;
  // Data-parallel embedding (mpirun): every rank tokenizes and sorts all the
  // texts alike, rank r of N runs batches r, r + N, ... (longest first, so
  // the work evens out) and rank 0 gathers the rows into input order. The
  // batches are those of one process, so the result is bitwise the same.
  // Null: this process alone.
  Communicator* comm = nullptr;
};

// True when `path` holds a BERT-family encoder (a folder whose config.json
// model_type is bert, roberta or xlm-roberta, directly or as the
// Transformer module of a sentence-transformers folder; or a bert GGUF).
// False for anything else, including paths that do not exist.
bool is_encoder_model(const std::string& path);

class Embedder {
 public:
  // Throws InputError "[embed] ..." / "[model] ..." / "[config] ..." /
  // "[tokenizer] ..." / "[peft] ..." for a path that is not an embedding
  // model, a broken file, or an adapter that does not fit the model.
  static std::unique_ptr<Embedder> load(const std::string& path, const EmbedderOptions& opt = {});
  ~Embedder();
  Embedder(const Embedder&) = delete;
  Embedder& operator=(const Embedder&) = delete;

  // ---- What the model is
  const std::string& path() const { return path_; }
  bool is_decoder() const { return decoder_ != nullptr; }
  const char* kind() const { return is_decoder() ? "decoder" : "encoder"; }
  std::string arch() const;   // "bert", "roberta", "xlm-roberta", "llama", "qwen3", ...
  int64_t dim() const;        // C, the full embedding size
  // Pooling, normalisation, prompts, max_seq_length, include_prompt, as
  // loaded and overridden by EmbedderOptions. (info().dim is dim().)
  const EmbeddingFolder& info() const { return folder_; }
  int64_t max_length() const { return max_length_; }
  const Tokenizer& tokenizer() const { return *tok_; }
  // The prompt text for a name or literal (see EmbedOptions::prompt).
  std::string resolve_prompt(const std::string& name_or_text) const;
  // What the loaded adapter was trained with (embedding_settings.json);
  // nullopt without an adapter or when its folder has no such file.
  const std::optional<AdapterEmbeddingSettings>& adapter_settings() const { return adapter_settings_; }
  // dims = 0 → dim(); throws InputError "[embed] ..." unless 0 < dims ≤ dim().
  int64_t resolve_dims(int64_t dims) const;

  // ---- Inference
  // Embeddings [n, dims] row-major, in input order. Texts are sorted by
  // token count and batched so that padding costs little; padding never
  // changes an embedding (beyond float rounding). No gradients, no dropout.
  // With opts.comm of several ranks: the whole result on rank 0, {} on the
  // others (every rank must call it with the same texts and options).
  std::vector<float> embed(const std::vector<std::string>& texts, const EmbedOptions& opts = {});
  // Token count of each text after prompt, special tokens and truncation.
  std::vector<int64_t> token_counts(const std::vector<std::string>& texts, const std::string& prompt = "",
                                    int64_t max_length = 0) const;

  // ---- Training
  // Embeddings [n, dims] of the texts as ONE right-padded batch, in order,
  // in a buffer owned by the embedder and valid until the next forward.
  // prompts: empty (every text gets the default prompt), one entry (for
  // every text), or n entries (per text: e.g. queries with "query" and
  // documents with "" in one batch), each a name or literal as resolve_prompt.
  // With `training`, keeps what backward needs and adapters run dropout.
  // pad_to > 0 pads the batch to at least that many tokens (a data-parallel
  // rank running its share of a batch pads as the whole batch is padded, so
  // its adapters draw the dropout masks one process draws).
  const float* forward(const std::vector<std::string>& texts, const std::vector<std::string>& prompts, int64_t dims,
                       bool training, int64_t pad_to = 0);
  // Token count of each text as forward() tokenizes it (prompts as there).
  std::vector<int64_t> token_counts(const std::vector<std::string>& texts, const std::vector<std::string>& prompts) const;
  // Backward of the last training forward: dy [n, dims] = dL/d(embeddings).
  // ACCUMULATES into the gradients of trainable tensors and adapters (call
  // zero_grad() between optimizer steps).
  void backward(const float* dy);
  // Real (non-padding) tokens and padded B·T of the last forward.
  int64_t last_tokens() const { return last_tokens_; }
  int64_t last_padded_tokens() const { return last_B_ * last_T_; }
  // Bytes of activations the model kept for backward in the last training forward.
  int64_t last_saved_bytes() const;

  // The model's linear layers (adapter slots): encoders q, k, v, o, up,
  // down per layer; decoders q, k, v, o, gate, up, down.
  std::vector<Linear<float>*> linears();
  // Each linear's PEFT description (HF module path and target name), in
  // linears() order: for BERT "encoder.layer.N.attention.self.query" /
  // "query", "...attention.output.dense" / "dense", "...intermediate.dense",
  // "...output.dense"; for decoders the Llama names of io/hf_names.h.
  std::vector<PeftLayer> peft_layers();
  void set_base_trainable(bool trainable);
  void visit_trainable(const ParamVisitor<float>& visit);
  void zero_grad();
  int64_t parameter_count();
  // Puts a method on the model (train/method.h): "full" makes every base
  // tensor trainable; adapter methods freeze the base and fill the slots of
  // the targeted linears (targets by module kind: q, k, v, o, up, down, gate,
  // or "all-linear"; empty = q, v as PEFT's default for both BERT and Llama).
  std::unique_ptr<MethodSetup> setup_method(const std::string& method, const AdapterConfig& cfg);
  // Writes the adapters of `s` as a PEFT folder (task_type FEATURE_EXTRACTION,
  // keys as PEFT names them for the HF model), loadable with
  // EmbedderOptions::adapter.
  void save_adapter(const std::string& dir, const MethodSetup& s);

  // The models underneath (exactly one is non-null).
  BertModel<float>* encoder() { return encoder_.get(); }
  LlamaModel<float>* decoder();

 private:
  Embedder();
  struct Tokenized {
    std::vector<int32_t> ids;
    int64_t prompt_tokens = 0;  // leading tokens left out of pooling (include_prompt = false)
  };
  Tokenized tokenize(const std::string& text, const std::string& prompt_text, int64_t max_length) const;
  int64_t prompt_length(const std::string& prompt_text) const;
  // Pads rows into a batch and runs model + pooling + truncation + norm.
  const float* run(const std::vector<const Tokenized*>& rows, int64_t dims, bool training, int64_t pad_to = 0);
  std::vector<Tokenized> tokenize_batch(const std::vector<std::string>& texts, const std::vector<std::string>& prompts) const;

  std::string path_;
  EmbeddingFolder folder_;
  int64_t max_length_ = 0;
  std::unique_ptr<BertModel<float>> encoder_;
  struct DecoderParts;
  std::unique_ptr<DecoderParts> decoder_;
  std::unique_ptr<Tokenizer> tokenizer_;  // the encoder's (a decoder's lives in DecoderParts)
  const Tokenizer* tok_ = nullptr;
  std::vector<std::shared_ptr<void>> keep_alive_;  // loaded adapters' shared state
  std::optional<AdapterEmbeddingSettings> adapter_settings_;
  int32_t pad_id_ = 0;

  // Saved by forward for backward.
  int64_t last_B_ = 0, last_T_ = 0, last_dims_ = 0, last_tokens_ = 0;
  bool has_saved_ = false;
  std::vector<uint8_t> mask_, pool_mask_;  // [B, T]
  std::vector<float> pooled_, out_, norm_, dpooled_, dhidden_;
};

}  // namespace peft
