#include "embed/embedder.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <sstream>

#include "core/error.h"
#include "core/log.h"
#include "io/gguf.h"
#include "io/gguf_sniff.h"
#include "model/bert_load.h"
#include "ops/l2_normalize.h"
#include "ops/pooling.h"
#include "tokenizer/encoding.h"
#include "tokenizer/load.h"
#include "train/apply_adapter.h"
#include "train/peft_dir.h"
#include "train/pretrained.h"

namespace peft {

namespace fs = std::filesystem;

struct Embedder::DecoderParts {
  Pretrained p;
};

namespace {

// model_type of a config.json ("" when absent).
std::string hf_model_type(const std::string& dir) {
  const fs::path p = fs::path(dir) / "config.json";
  std::ifstream f(p);
  if (!f) fail("model", dir + ": no config.json");
  std::stringstream ss;
  ss << f.rdbuf();
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(ss.str());
  } catch (const std::exception& e) {
    fail("config", p.string() + ": not valid JSON (" + e.what() + ")");
  }
  if (!j.is_object()) fail("config", p.string() + ": not a JSON object");
  return j.contains("model_type") && j["model_type"].is_string() ? j["model_type"].get<std::string>() : "";
}

bool is_encoder_type(const std::string& t) { return t == "bert" || t == "roberta" || t == "xlm-roberta"; }

// PEFT's path and target name of each BERT linear, in BertLayer::linears()
// order (q, k, v, o, up, down), as transformers' BertModel names them.
std::vector<PeftLayer> bert_peft_layers(BertModel<float>& m) {
  static const char* const kPath[] = {"attention.self.query", "attention.self.key", "attention.self.value",
                                      "attention.output.dense", "intermediate.dense", "output.dense"};
  static const char* const kTarget[] = {"query", "key", "value", "dense", "dense", "dense"};
  std::vector<PeftLayer> r;
  for (size_t l = 0; l < m.layers.size(); ++l) {
    auto lins = m.layers[l].linears();
    for (size_t i = 0; i < lins.size(); ++i) {
      PeftLayer pl;
      pl.info = lins[i]->info;
      pl.hf_module = "encoder.layer." + std::to_string(l) + "." + kPath[i];
      pl.hf_target = kTarget[i];
      r.push_back(std::move(pl));
    }
  }
  return r;
}

}  // namespace

bool is_encoder_model(const std::string& path) {
  std::error_code ec;
  try {
    if (fs::is_directory(path, ec)) return is_encoder_type(hf_model_type(read_embedding_folder(path).transformer_dir));
    if (fs::is_regular_file(path, ec) && looks_like_gguf(path))
      return GgufFile::open(path)->get_string("general.architecture", "") == "bert";
  } catch (const InputError&) {
  }
  return false;
}

Embedder::Embedder() = default;
Embedder::~Embedder() = default;

LlamaModel<float>* Embedder::decoder() { return decoder_ ? decoder_->p.model.get() : nullptr; }

int64_t Embedder::last_saved_bytes() const {
  return decoder_ ? decoder_->p.model->last_saved_bytes() : encoder_->last_saved_bytes();
}

std::unique_ptr<Embedder> Embedder::load(const std::string& path, const EmbedderOptions& opt) {
  std::error_code ec;
  if (!fs::exists(path, ec)) fail("embed", path + ": no such file or directory");
  std::unique_ptr<Embedder> e(new Embedder());
  e->path_ = path;
  EmbeddingFolder& f = e->folder_;
  bool decoder = false;
  if (fs::is_directory(path, ec)) {
    f = read_embedding_folder(path);
    const std::string type = hf_model_type(f.transformer_dir);
    decoder = !is_encoder_type(type);
    if (decoder) {
      auto d = std::make_unique<DecoderParts>();
      d->p = load_pretrained(f.transformer_dir);
      e->decoder_ = std::move(d);
      if (!f.sentence_transformers) {
        f.pooling = ops::PoolMode::Last;
        f.normalize = true;
      }
    } else {
      e->encoder_ = load_bert_hf<float>(f.transformer_dir);
      e->tokenizer_ = load_tokenizer(f.transformer_dir);
    }
  } else if (looks_like_gguf(path)) {
    auto g = GgufFile::open(path);
    f.root = path;
    f.transformer_dir = path;
    if (g->get_string("general.architecture") == "bert") {
      // A GGUF file carries its pooling but not whether to normalise;
      // llama.cpp's embedding tool normalises by default, as do the
      // sentence-transformers models converted to it.
      f.pooling = bert_gguf_pooling(*g);
      f.normalize = true;
      e->encoder_ = load_bert_gguf<float>(*g);
      e->tokenizer_ = load_gguf_tokenizer(*g);
    } else {
      decoder = true;
      g.reset();
      auto d = std::make_unique<DecoderParts>();
      d->p = load_pretrained(path);
      e->decoder_ = std::move(d);
      f.pooling = ops::PoolMode::Last;
      f.normalize = true;
    }
  } else {
    fail("embed", path + ": not an embedding model (neither a model folder nor a GGUF file)");
  }

  int64_t limit = 0;
  if (decoder) {
    e->tok_ = e->decoder_->p.tokenizer.get();
    const LlamaConfig& c = e->decoder_->p.model->cfg;
    limit = c.context_length;
    e->pad_id_ = 0;  // any valid id: causal attention never lets padding reach real tokens
  } else {
    e->tok_ = e->tokenizer_.get();
    const BertConfig& c = e->encoder_->cfg;
    limit = c.max_tokens();
    e->pad_id_ = c.pad_token_id;  // roberta numbers positions by "id != pad"
  }
  if (f.dim != 0 && f.dim != e->dim())
    fail("model", path + ": the Pooling module expects " + std::to_string(f.dim) +
                      "-dimensional token states, but the model's hidden size is " + std::to_string(e->dim()));
  f.dim = e->dim();
  // An adapter's training settings are its defaults; explicit options win,
  // and a difference is said (the adapter learned another pipeline).
  if (!opt.adapter.empty()) e->adapter_settings_ = read_adapter_settings(opt.adapter);
  if (const auto& a = e->adapter_settings_) {
    const std::string from = "the adapter in " + opt.adapter + " was trained with ";
    if (!a->pooling.empty()) {
      if (opt.pooling.empty()) f.pooling = ops::pool_mode_from_string(a->pooling);
      else if (opt.pooling != a->pooling)
        log_warn("[embed] " + from + a->pooling + " pooling; using " + opt.pooling + " as asked");
    }
    if (opt.normalize < 0) f.normalize = a->normalize;
    else if ((opt.normalize != 0) != a->normalize)
      log_warn("[embed] " + from + (a->normalize ? "" : "un") + "normalised embeddings; using " +
               (opt.normalize ? "" : "un") + "normalised ones as asked");
    if (a->max_length > 0 && opt.max_length > 0 && opt.max_length != a->max_length)
      log_warn("[embed] " + from + "texts of at most " + std::to_string(a->max_length) + " tokens; using " +
               std::to_string(opt.max_length) + " as asked");
  }
  if (!opt.pooling.empty()) {
    try {
      f.pooling = ops::pool_mode_from_string(opt.pooling);
    } catch (const InputError&) {
      fail("embed", "--pooling '" + opt.pooling + "' is not one of cls, mean, last");
    }
  }
  if (opt.normalize >= 0) f.normalize = opt.normalize != 0;

  if (opt.max_length < 0) fail("embed", "--max-length must be positive");
  if (opt.max_length > limit)
    fail("embed", "--max-length " + std::to_string(opt.max_length) + " exceeds the model's " + std::to_string(limit) +
                      " positions");
  const int64_t adapter_max = e->adapter_settings_ ? e->adapter_settings_->max_length : 0;
  e->max_length_ = opt.max_length > 0        ? opt.max_length
                   : adapter_max > 0         ? std::min(adapter_max, limit)
                   : f.max_seq_length > 0    ? std::min(f.max_seq_length, limit)
                   : decoder                 ? std::min<int64_t>(limit, 8192)
                                             : limit;

  if (!opt.adapter.empty()) {
    if (e->decoder_) {
      apply_adapters(e->decoder_->p, {parse_adapter_spec(opt.adapter)});
    } else {
      auto lp = std::make_shared<LoadedPeft>(load_peft_dir(opt.adapter, e->peft_layers()));
      for (Linear<float>* lin : e->linears()) {
        auto it = lp->adapters.find(lin->info.name);
        if (it != lp->adapters.end()) lin->adapter = std::move(it->second);
      }
      e->keep_alive_.push_back(lp);  // VeRA's shared pair outlives the adapters
    }
  }
  return e;
}

std::string Embedder::arch() const { return decoder_ ? decoder_->p.model->cfg.arch : encoder_->cfg.arch; }

int64_t Embedder::dim() const { return decoder_ ? decoder_->p.model->cfg.dim : encoder_->cfg.dim; }

std::string Embedder::resolve_prompt(const std::string& name_or_text) const {
  if (name_or_text.empty()) {
    if (folder_.default_prompt_name.empty()) return "";
    auto it = folder_.prompts.find(folder_.default_prompt_name);
    if (it == folder_.prompts.end())
      fail("embed", path_ + ": default_prompt_name '" + folder_.default_prompt_name + "' is not among its prompts");
    return it->second;
  }
  auto it = folder_.prompts.find(name_or_text);
  return it != folder_.prompts.end() ? it->second : name_or_text;
}

int64_t Embedder::resolve_dims(int64_t dims) const {
  if (dims == 0) return dim();
  if (dims < 0 || dims > dim())
    fail("embed", "--dims " + std::to_string(dims) + " is outside 1.." + std::to_string(dim()) +
                      " (the model's embedding size)");
  return dims;
}

// sentence-transformers' prompt length: the prompt tokenized like a text,
// less a trailing special token (an EOS the post-processor appends).
int64_t Embedder::prompt_length(const std::string& prompt_text) const {
  if (prompt_text.empty()) return 0;
  EncodeOptions eo;
  eo.offsets = false;
  eo.use_file_padding = false;
  eo.use_file_truncation = false;
  Encoding enc = encode(*tok_, prompt_text, std::nullopt, eo);
  int64_t n = static_cast<int64_t>(enc.size());
  if (n > 0 && enc.special_tokens_mask.back()) --n;
  return n;
}

Embedder::Tokenized Embedder::tokenize(const std::string& text, const std::string& prompt_text,
                                       int64_t max_length) const {
  EncodeOptions eo;
  eo.offsets = false;
  eo.use_file_padding = false;
  eo.use_file_truncation = false;
  Truncation t;
  t.max_length = static_cast<size_t>(max_length > 0 ? max_length : max_length_);
  eo.truncation = t;
  Tokenized r;
  r.ids = encode(*tok_, prompt_text + text, std::nullopt, eo).ids;
  if (r.ids.empty()) fail("embed", "a text encodes to no tokens (the tokenizer adds no special tokens)");
  if (!folder_.include_prompt) r.prompt_tokens = prompt_length(prompt_text);
  return r;
}

std::vector<int64_t> Embedder::token_counts(const std::vector<std::string>& texts, const std::string& prompt,
                                            int64_t max_length) const {
  const std::string p = resolve_prompt(prompt);
  std::vector<int64_t> r;
  r.reserve(texts.size());
  for (const std::string& t : texts) r.push_back(static_cast<int64_t>(tokenize(t, p, max_length).ids.size()));
  return r;
}

// hidden = model(batch) [B·T, C]; pooled = pool(hidden, pool_mask) [B, C];
// out = normalize(pooled[:, :dims]) or pooled[:, :dims]   [B, dims]
const float* Embedder::run(const std::vector<const Tokenized*>& rows, int64_t dims, bool training, int64_t pad_to) {
  const int64_t B = static_cast<int64_t>(rows.size()), C = dim();
  int64_t Tn = pad_to;
  for (const Tokenized* r : rows) Tn = std::max<int64_t>(Tn, static_cast<int64_t>(r->ids.size()));
  std::vector<int32_t> tokens(B * Tn, pad_id_);
  mask_.assign(B * Tn, 0);
  pool_mask_.assign(B * Tn, 0);
  int64_t real = 0;
  bool padded = false;
  for (int64_t b = 0; b < B; ++b) {
    const auto& ids = rows[b]->ids;
    const int64_t n = static_cast<int64_t>(ids.size());
    std::copy(ids.begin(), ids.end(), tokens.begin() + b * Tn);
    std::fill_n(mask_.begin() + b * Tn, n, 1);
    // A prompt as long as the whole row would leave nothing to pool; then the
    // row is pooled over all its tokens, as sentence-transformers' mask would
    // otherwise give a zero vector.
    const int64_t skip = rows[b]->prompt_tokens < n ? rows[b]->prompt_tokens : 0;
    std::fill_n(pool_mask_.begin() + b * Tn + skip, n - skip, 1);
    real += n;
    padded = padded || n < Tn;
  }
  bool pool_masked = padded;
  for (int64_t b = 0; b < B && !pool_masked; ++b) pool_masked = rows[b]->prompt_tokens > 0;

  const float* hidden;
  if (decoder_) {
    Batch bt;
    bt.B = B;
    bt.T = Tn;
    bt.tokens = std::move(tokens);
    bt.positions.resize(B * Tn);
    for (int64_t i = 0; i < B * Tn; ++i) bt.positions[i] = static_cast<int32_t>(i % Tn);
    hidden = decoder_->p.model->forward_hidden(bt, training);
  } else {
    EncoderBatch eb;
    eb.B = B;
    eb.T = Tn;
    eb.tokens = std::move(tokens);
    if (padded) eb.mask = mask_;
    hidden = encoder_->forward(eb, training);
  }
  pooled_.resize(B * C);
  out_.resize(B * dims);
  ops::pool_forward<float>(hidden, pool_masked ? pool_mask_.data() : nullptr, pooled_.data(), B, Tn, C,
                           folder_.pooling);
  if (folder_.normalize) {
    norm_.resize(B);
    ops::l2_normalize_forward<float>(pooled_.data(), out_.data(), norm_.data(), B, C, dims);
  } else {
    for (int64_t r = 0; r < B; ++r) std::copy_n(pooled_.data() + r * C, dims, out_.data() + r * dims);
  }
  last_B_ = B;
  last_T_ = Tn;
  last_dims_ = dims;
  last_tokens_ = real;
  has_saved_ = training;
  if (!pool_masked) pool_mask_.clear();
  return out_.data();
}

std::vector<float> Embedder::embed(const std::vector<std::string>& texts, const EmbedOptions& opts) {
  const int64_t dims = resolve_dims(opts.dims);
  if (opts.batch_size <= 0) fail("embed", "--batch-size must be positive");
  if (opts.max_length < 0) fail("embed", "--max-length must be positive");
  const std::string prompt = resolve_prompt(opts.prompt);
  const int64_t n = static_cast<int64_t>(texts.size());
  std::vector<Tokenized> tok(n);
  for (int64_t i = 0; i < n; ++i) tok[i] = tokenize(texts[i], prompt, opts.max_length);
  // Longest first, so each batch holds texts of similar length (little
  // padding) and the largest activations are allocated once, up front.
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return tok[a].ids.size() > tok[b].ids.size(); });
  const int rank = opts.comm ? opts.comm->rank() : 0, ranks = opts.comm ? opts.comm->size() : 1;
  const int64_t batches = (n + opts.batch_size - 1) / opts.batch_size;
  // Batch b holds sorted rows [b·bs, min(n, (b+1)·bs)); rank b mod N runs it.
  auto batch_rows = [&](int64_t b) { return std::pair{b * opts.batch_size, std::min(n, (b + 1) * opts.batch_size)}; };
  int64_t mine = 0;  // rows this rank embeds
  for (int64_t b = rank; b < batches; b += ranks) mine += batch_rows(b).second - batch_rows(b).first;
  // Single process: rows go straight to input order. Several ranks: this
  // rank's rows in the order it ran them, for rank 0 to place.
  std::vector<float> out((ranks == 1 ? n : mine) * dims);
  int64_t done = 0;
  for (int64_t b = rank; b < batches; b += ranks) {
    const auto [s, e] = batch_rows(b);
    std::vector<const Tokenized*> rows;
    for (int64_t i = s; i < e; ++i) rows.push_back(&tok[order[i]]);
    const float* y = run(rows, dims, false);
    for (int64_t i = s; i < e; ++i)
      std::copy_n(y + (i - s) * dims, dims, out.data() + (ranks == 1 ? order[i] : done + i - s) * dims);
    done += e - s;
    if (opts.progress) opts.progress(done, mine);
  }
  if (ranks == 1) return out;

  std::vector<uint8_t> bytes(out.size() * sizeof(float));
  std::memcpy(bytes.data(), out.data(), bytes.size());
  out = {};
  const std::vector<std::vector<uint8_t>> all = opts.comm->gather(bytes);
  if (rank != 0) return {};
  std::vector<float> result(n * dims);
  for (int r = 0; r < ranks; ++r) {
    const std::vector<uint8_t>& got = all[static_cast<size_t>(r)];
    int64_t rows = 0;
    for (int64_t b = r; b < batches; b += ranks) rows += batch_rows(b).second - batch_rows(b).first;
    if (got.size() != static_cast<size_t>(rows * dims) * sizeof(float))
      fail("dist", "rank " + std::to_string(r) + " sent " + std::to_string(got.size()) + " bytes of embeddings, expected " +
                       std::to_string(static_cast<size_t>(rows * dims) * sizeof(float)));
    const float* src = reinterpret_cast<const float*>(got.data());
    int64_t at = 0;
    for (int64_t b = r; b < batches; b += ranks) {
      const auto [s, e] = batch_rows(b);
      for (int64_t i = s; i < e; ++i, ++at) std::copy_n(src + at * dims, dims, result.data() + order[i] * dims);
    }
  }
  return result;
}

std::vector<Embedder::Tokenized> Embedder::tokenize_batch(const std::vector<std::string>& texts,
                                                          const std::vector<std::string>& prompts) const {
  const size_t n = texts.size();
  if (prompts.size() > 1 && prompts.size() != n)
    fail("embed", "forward: " + std::to_string(prompts.size()) + " prompts for " + std::to_string(n) + " texts");
  std::vector<Tokenized> tok(n);
  const std::string shared = prompts.size() == 1 ? resolve_prompt(prompts[0]) : resolve_prompt("");
  for (size_t i = 0; i < n; ++i)
    tok[i] = tokenize(texts[i], prompts.size() > 1 ? resolve_prompt(prompts[i]) : shared, 0);
  return tok;
}

std::vector<int64_t> Embedder::token_counts(const std::vector<std::string>& texts,
                                            const std::vector<std::string>& prompts) const {
  std::vector<int64_t> r;
  for (const Tokenized& t : tokenize_batch(texts, prompts)) r.push_back(static_cast<int64_t>(t.ids.size()));
  return r;
}

const float* Embedder::forward(const std::vector<std::string>& texts, const std::vector<std::string>& prompts,
                               int64_t dims, bool training, int64_t pad_to) {
  dims = resolve_dims(dims);
  if (texts.empty()) fail("embed", "forward of no texts");
  const std::vector<Tokenized> tok = tokenize_batch(texts, prompts);
  std::vector<const Tokenized*> rows;
  for (const Tokenized& t : tok) rows.push_back(&t);
  return run(rows, dims, training, pad_to);
}

void Embedder::backward(const float* dy) {
  if (!has_saved_) fail("embed", "backward without a training forward");
  has_saved_ = false;
  const int64_t B = last_B_, Tn = last_T_, C = dim(), dims = last_dims_;
  dpooled_.assign(B * C, 0.0f);
  if (folder_.normalize) {
    ops::l2_normalize_backward<float>(dy, out_.data(), norm_.data(), dpooled_.data(), B, C, dims);
  } else {
    for (int64_t r = 0; r < B; ++r) std::copy_n(dy + r * dims, dims, dpooled_.data() + r * C);
  }
  dhidden_.resize(B * Tn * C);
  ops::pool_backward<float>(dpooled_.data(), pool_mask_.empty() ? nullptr : pool_mask_.data(), dhidden_.data(), B, Tn,
                            C, folder_.pooling);
  if (decoder_) decoder_->p.model->backward_hidden(dhidden_.data());
  else encoder_->backward(dhidden_.data());
}

std::vector<Linear<float>*> Embedder::linears() {
  return decoder_ ? decoder_->p.model->all_linears() : encoder_->all_linears();
}

std::vector<PeftLayer> Embedder::peft_layers() {
  if (decoder_) return peft_layers_of(*decoder_->p.model, model_rows_are_gguf(decoder_->p));
  return bert_peft_layers(*encoder_);
}

void Embedder::set_base_trainable(bool trainable) {
  if (decoder_) decoder_->p.model->set_base_trainable(trainable);
  else encoder_->set_base_trainable(trainable);
}

void Embedder::visit_trainable(const ParamVisitor<float>& visit) {
  if (decoder_) decoder_->p.model->visit_trainable(visit);
  else encoder_->visit_trainable(visit);
}

void Embedder::zero_grad() {
  if (decoder_) decoder_->p.model->zero_grad();
  else encoder_->zero_grad();
}

int64_t Embedder::parameter_count() {
  return decoder_ ? decoder_->p.model->parameter_count() : encoder_->parameter_count();
}

std::unique_ptr<MethodSetup> Embedder::setup_method(const std::string& method, const AdapterConfig& cfg) {
  ModelView v;
  v.linears = linears();
  v.layers = peft_layers();
  v.set_base_trainable = [this](bool t) { set_base_trainable(t); };
  v.visit_trainable = [this](const ParamVisitor<float>& f) { visit_trainable(f); };
  v.parameter_count = parameter_count();
  return peft::setup_method(v, method, cfg);
}

void Embedder::save_adapter(const std::string& dir, const MethodSetup& s) {
  PeftSaveOptions o;
  o.base_model_name_or_path = path_;
  o.task_type = "FEATURE_EXTRACTION";
  save_peft_dir(dir, s.adapter, adapted_layers(linears(), s), s.vera.get(), o);
}

}  // namespace peft
