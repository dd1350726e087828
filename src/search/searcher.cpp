#include "search/searcher.h"

#include <filesystem>

#include "core/error.h"
#include "embed/embedder.h"
#include "embed/model_eval.h"
#include "ops/pooling.h"
#include "search/content_id.h"
#include "search/corpus.h"

namespace peft {

namespace {

std::unique_ptr<Embedder> load_embedder(const std::string& model, const std::string& adapter, int64_t max_tokens) {
  EmbedderOptions o;
  o.adapter = adapter;
  o.max_length = max_tokens;
  return Embedder::load(model, o);
}

}  // namespace

Searcher::Searcher() = default;
Searcher::~Searcher() = default;

std::unique_ptr<Searcher> Searcher::for_build(const EmbeddingSettings& s) {
  std::unique_ptr<Searcher> r(new Searcher());
  r->embedder_ = load_embedder(s.model, s.adapter, s.max_tokens);
  Embedder& e = *r->embedder_;
  Manifest& m = r->manifest_;
  m.model = s.model;
  m.model_id = content_id(s.model);
  if (!s.adapter.empty()) {
    m.adapters = {s.adapter};
    m.adapter_id = content_id(s.adapter);
  }
  m.embedder = e.kind();
  m.pooling = ops::pool_mode_name(e.info().pooling);
  m.normalize = e.info().normalize;
  m.dims = e.resolve_dims(s.dims);
  m.max_tokens = s.max_tokens;
  // sentence-transformers' choice (or the adapter's trained prompts) where none is given.
  m.query_prompt = e.resolve_prompt(query_prompt_for(e, s.query_prompt));
  m.document_prompt = e.resolve_prompt(doc_prompt_for(e, s.document_prompt));
  return r;
}

void Searcher::create_or_resume(const std::string& dir, const Manifest& m) {
  manifest_ = m;
  std::error_code ec;
  if (std::filesystem::exists(std::filesystem::path(dir) / "manifest.json", ec)) {
    index_ = SearchIndex::open(dir, SearchIndex::Access::kWrite);
    index_->manifest().check_same_embedding(m, dir);
    if (index_->manifest().chunk_tokens != m.chunk_tokens || index_->manifest().chunk_overlap != m.chunk_overlap)
      fail("search", dir + ": the index was built with other chunking (--chunk-tokens " +
                         std::to_string(index_->manifest().chunk_tokens) + " --chunk-overlap " +
                         std::to_string(index_->manifest().chunk_overlap) + "); resume with the same settings");
    manifest_ = index_->manifest();
  } else {
    index_ = SearchIndex::create(dir, m);
  }
}

std::unique_ptr<Searcher> Searcher::open(const std::string& dir, SearchIndex::Access access, const std::string& model,
                                         const std::string& adapter) {
  std::unique_ptr<Searcher> r(new Searcher());
  r->index_ = SearchIndex::open(dir, access);
  const Manifest& m = r->index_->manifest();
  r->manifest_ = m;
  // What the caller would embed with: the model it named, else the index's.
  Manifest asked = m;
  asked.model = model.empty() ? m.model : model;
  asked.model_id = content_id(asked.model);
  const std::string ad = !adapter.empty() ? adapter : (m.adapters.empty() ? "" : m.adapters[0]);
  asked.adapter_id = ad.empty() ? "" : content_id(ad);
  m.check_same_embedding(asked, dir);
  r->embedder_ = load_embedder(asked.model, ad, m.max_tokens);
  // The loaded model must still embed as the manifest says.
  Manifest got = m;
  got.embedder = r->embedder_->kind();
  got.pooling = ops::pool_mode_name(r->embedder_->info().pooling);
  got.normalize = r->embedder_->info().normalize;
  m.check_same_embedding(got, dir);
  r->embedder_->resolve_dims(m.dims);
  return r;
}

std::vector<float> Searcher::embed_queries(const std::vector<std::string>& texts) {
  EmbedOptions o;
  o.prompt = manifest_.query_prompt;
  o.dims = manifest_.dims;
  o.max_length = manifest_.max_tokens;
  std::lock_guard g(embed_mu_);
  return embedder_->embed(texts, o);
}

std::vector<float> Searcher::embed_documents(const std::vector<SearchDocument>& docs,
                                             const std::function<void(int64_t, int64_t)>& progress,
                                             Communicator* comm) {
  std::vector<std::string> texts;
  texts.reserve(docs.size());
  for (const auto& d : docs) texts.push_back(document_embed_text(d));
  EmbedOptions o;
  o.prompt = manifest_.document_prompt;
  o.dims = manifest_.dims;
  o.max_length = manifest_.max_tokens;
  o.progress = progress;
  o.comm = comm;
  std::lock_guard g(embed_mu_);
  return embedder_->embed(texts, o);
}

int64_t Searcher::count_tokens(const std::string& text) const {
  return static_cast<int64_t>(embedder_->tokenizer().encode(text, false).size());
}

std::vector<SearchHit> Searcher::search(const std::string& text, SearchRequest req) {
  req.text = text;
  if (req.mode != SearchMode::kBm25) req.vector = embed_queries({text});
  return index_->search(req);
}

}  // namespace peft
