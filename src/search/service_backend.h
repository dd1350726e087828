// What the HTTP service (search/service_api.h) needs from a search index:
// search, embed, add, delete, lookup by id and a summary. The service is written against
// this interface so that its routing, validation and JSON shapes do not
// depend on how the index stores things; search/index_backend.h implements
// it over the persistent index and the embedding model.
//
// Concurrency contract: the service calls search(), embed(), prepare(),
// get() and info() from many threads at once, and add() and remove() one at a time
// with no other call in flight (it holds a reader/writer lock around every
// call). Adding is two calls so that the slow part, embedding the texts
// (prepare), runs beside searches and only the write itself (add) runs
// alone. An implementation whose parts are not reentrant (an embedding
// model keeps its activation buffers in the object) serialises those parts
// itself.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace peft::search {

enum class ServiceMode { Vector, Bm25, Hybrid };

// "vector", "bm25", "hybrid".
const char* service_mode_name(ServiceMode m);
// Parses a mode name; false when `s` is not one.
bool parse_service_mode(const std::string& s, ServiceMode& out);

struct ServiceQuery {
  std::string q;
  int64_t k = 10;
  ServiceMode mode = ServiceMode::Hybrid;
  // Metadata filters, all of which must hold (KEY=VALUE, string equality).
  std::vector<std::pair<std::string, std::string>> where;
};

struct ServiceHit {
  std::string id;
  double score = 0;  // higher is better; its scale depends on the mode
  std::string title;
  std::string text;  // the whole document text (the service cuts the snippet)
  nlohmann::json metadata = nlohmann::json::object();
};

struct ServiceDocument {
  std::string id;
  std::string title;
  std::string text;
  nlohmann::json metadata = nlohmann::json::object();
};

// Documents ready to be written: their vectors [docs.size(), dims] row-major.
struct PreparedDocuments {
  std::vector<ServiceDocument> docs;
  std::vector<float> vectors;
};

struct ServiceInfo {
  int64_t documents = 0;
  std::string model;    // what the index was built with
  std::string adapter;  // empty without one
  int64_t dims = 0;
  // Everything else the backend tells about itself (GET /info): for the
  // index, its manifest, generation and size on disk.
  nlohmann::json details = nlohmann::json::object();
};

class ServiceBackend {
 public:
  virtual ~ServiceBackend() = default;
  // At most q.k hits, best first. Throws InputError for a query the index
  // refuses (an unknown metadata key is not an error: it matches nothing).
  virtual std::vector<ServiceHit> search(const ServiceQuery& q) = 0;
  // One vector per text, each info().dims long, embedded as queries are.
  virtual std::vector<std::vector<float>> embed(const std::vector<std::string>& texts) = 0;
  // Embeds documents as the index embeds them.
  virtual PreparedDocuments prepare(std::vector<ServiceDocument> docs) = 0;
  // Adds prepared documents, all or none; one whose id is in the index
  // already replaces that document. Returns how many replaced one. Throws
  // InputError for documents the index refuses (and adds none).
  virtual int64_t add(const PreparedDocuments& prepared) = 0;
  // Deletes a document; false when no document has that id.
  virtual bool remove(const std::string& id) = 0;
  // The document with this id, as stored; nullopt when there is none.
  virtual std::optional<ServiceDocument> get(const std::string& id) = 0;
  virtual ServiceInfo info() = 0;
};

}  // namespace peft::search
