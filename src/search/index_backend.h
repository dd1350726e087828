// The search service's backend over a real index: a Searcher (the index
// folder and the model of its manifest) behind search::ServiceBackend, so
// that `peft serve` answers with what `peft search` would print.
//
// Queries are embedded by the Searcher exactly as the manifest says (query
// prompt, max_tokens, dims); documents added through the service get the
// document prompt and, when the index was built with --chunk-tokens, the
// same chunking as `peft index add` (chunk j of D is stored as "D#j").
#pragma once
#include <memory>

#include "search/searcher.h"
#include "search/service_backend.h"

namespace peft::search {

class IndexBackend : public ServiceBackend {
 public:
  // Takes the Searcher (opened for writing unless the service is read-only).
  explicit IndexBackend(std::unique_ptr<Searcher> searcher);
  ~IndexBackend() override;

  std::vector<ServiceHit> search(const ServiceQuery& q) override;
  std::vector<std::vector<float>> embed(const std::vector<std::string>& texts) override;
  PreparedDocuments prepare(std::vector<ServiceDocument> docs) override;
  int64_t add(const PreparedDocuments& prepared) override;
  bool remove(const std::string& id) override;
  std::optional<ServiceDocument> get(const std::string& id) override;
  ServiceInfo info() override;

  Searcher& searcher() { return *searcher_; }

 private:
  std::unique_ptr<Searcher> searcher_;
};

}  // namespace peft::search
