#include "search/index_backend.h"

#include "core/error.h"
#include "search/corpus.h"

namespace peft::search {

namespace {

SearchDocument to_index(ServiceDocument d) {
  return {std::move(d.id), std::move(d.title), std::move(d.text), std::move(d.metadata)};
}

ServiceDocument from_index(SearchDocument d) {
  return {std::move(d.id), std::move(d.title), std::move(d.text), std::move(d.meta)};
}

SearchMode to_index(ServiceMode m) {
  switch (m) {
    case ServiceMode::Vector: return SearchMode::kVector;
    case ServiceMode::Bm25: return SearchMode::kBm25;
    case ServiceMode::Hybrid: return SearchMode::kHybrid;
  }
  return SearchMode::kHybrid;
}

}  // namespace

IndexBackend::IndexBackend(std::unique_ptr<Searcher> searcher) : searcher_(std::move(searcher)) {
  PEFT_CHECK(searcher_ != nullptr, "serve", "IndexBackend without an index");
}

IndexBackend::~IndexBackend() = default;

std::vector<ServiceHit> IndexBackend::search(const ServiceQuery& q) {
  SearchRequest req;
  req.mode = to_index(q.mode);
  req.k = q.k;
  req.where.equals = q.where;
  const std::vector<SearchHit> hits = searcher_->search(q.q, req);
  std::vector<ServiceHit> out;
  out.reserve(hits.size());
  const SearchIndex& index = searcher_->index();
  for (const SearchHit& h : hits) {
    ServiceHit s;
    s.id = h.id;
    s.score = h.score;
    s.title = h.title;
    // The page shows a snippet of the text and the metadata; the hit itself
    // carries neither. A document deleted between the search and this
    // lookup cannot happen: the service holds its read lock across both.
    if (auto d = index.get(h.id)) {
      s.text = std::move(d->text);
      s.metadata = std::move(d->meta);
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<std::vector<float>> IndexBackend::embed(const std::vector<std::string>& texts) {
  const std::vector<float> flat = searcher_->embed_queries(texts);
  const size_t dims = static_cast<size_t>(searcher_->manifest().dims);
  std::vector<std::vector<float>> out;
  for (size_t i = 0; i < texts.size(); ++i) out.emplace_back(flat.begin() + long(i * dims), flat.begin() + long((i + 1) * dims));
  return out;
}

PreparedDocuments IndexBackend::prepare(std::vector<ServiceDocument> docs) {
  std::vector<SearchDocument> in;
  in.reserve(docs.size());
  for (auto& d : docs) in.push_back(to_index(std::move(d)));
  const Manifest& m = searcher_->manifest();
  if (m.chunk_tokens > 0)
    in = chunk_documents(in, m.chunk_tokens, m.chunk_overlap,
                         [this](const std::string& w) { return searcher_->count_tokens(w); });
  PreparedDocuments p;
  p.vectors = searcher_->embed_documents(in);
  for (auto& d : in) p.docs.push_back(from_index(std::move(d)));
  return p;
}

int64_t IndexBackend::add(const PreparedDocuments& prepared) {
  std::vector<SearchDocument> docs;
  docs.reserve(prepared.docs.size());
  int64_t replaced = 0;
  SearchIndex& index = searcher_->index();
  for (const ServiceDocument& d : prepared.docs) {
    replaced += index.contains(d.id) ? 1 : 0;
    docs.push_back(to_index(d));
  }
  PEFT_CHECK(prepared.vectors.size() == docs.size() * size_t(searcher_->manifest().dims), "serve",
             "prepared vectors do not match the documents");
  index.add(docs, prepared.vectors.data());
  return replaced;
}

bool IndexBackend::remove(const std::string& id) { return searcher_->index().remove({id}) > 0; }

std::optional<ServiceDocument> IndexBackend::get(const std::string& id) {
  auto d = searcher_->index().get(id);
  if (!d) return std::nullopt;
  return from_index(std::move(*d));
}

ServiceInfo IndexBackend::info() {
  const SearchIndexInfo i = searcher_->index().info();
  ServiceInfo s;
  s.documents = i.documents;
  s.model = i.manifest.model;
  for (const auto& a : i.manifest.adapters) s.adapter += (s.adapter.empty() ? "" : ",") + a;
  s.dims = i.manifest.dims;
  s.details = i.to_json();
  return s;
}

}  // namespace peft::search
