// The search service's HTTP API without the HTTP: routing, request parsing
// and validation, limits, the JSON response shapes, and the reader/writer
// lock that lets searches run in parallel while writes run alone. A server
// (search/http_server.h) turns each HTTP request into an ApiRequest and
// sends back the ApiResponse; tests and other transports can call handle()
// directly. docs/serve.md lists the endpoints with examples.
//
//   GET    /                  the search page (text/html)
//   GET    /health            {"status","documents","model","adapter","dims"}
//   GET    /info              the same plus the backend's details (manifest...)
//   GET    /search?q=&k=&mode=&where=KEY=VALUE   (where may repeat)
//   POST   /search            {"q","k","mode","where"}
//   POST   /embed             {"texts":[...]}  ->  {"dims","vectors"}
//   POST   /documents         [{"id","title","text",...}] or {"documents":[...]}
//   GET    /documents/{id}    {"id","title","text","metadata"}
//   DELETE /documents/{id}
//
// Errors are {"error": "..."} with 400 (bad request), 403 (a write to a
// read-only service), 404 (unknown path or id), 405 (known path, wrong
// method; an Allow header says which) or 500 (a fault of ours; the message
// says so).
#pragma once
#include <cstdint>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "search/service_backend.h"

namespace peft::search {

struct ApiRequest {
  std::string method;  // "GET", "HEAD", "POST", ...
  std::string path;    // decoded, without the query string
  // Query parameters, decoded; a name may repeat.
  std::multimap<std::string, std::string> params;
  std::string body;
};

struct ApiResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

struct ServiceLimits {
  int64_t max_k = 100;                // results per search
  size_t max_query_bytes = 2048;      // length of q
  size_t max_embed_texts = 256;       // texts per /embed
  size_t max_text_bytes = 1 << 20;    // one text of /embed or one document's text
  size_t max_add_documents = 10000;   // documents per POST /documents
  size_t snippet_bytes = 240;         // about this long
  bool read_only = false;             // POST /documents and DELETE get 403
};

// The JSON error body {"error": message}.
ApiResponse api_error(int status, const std::string& message);

class SearchService {
 public:
  explicit SearchService(ServiceBackend& backend, ServiceLimits limits = {});

  // Never throws: a bad request becomes a 4xx response, a fault of the
  // backend a 500 (its message in "error").
  ApiResponse handle(const ApiRequest& req);

  const ServiceLimits& limits() const { return limits_; }

 private:
  ApiResponse route(const ApiRequest& req);
  ApiResponse do_search(const ServiceQuery& q);
  ApiResponse search_get(const ApiRequest& req);
  ApiResponse search_post(const ApiRequest& req);
  ApiResponse embed(const ApiRequest& req);
  ApiResponse add_documents(const ApiRequest& req);
  ApiResponse delete_document(const std::string& id);
  ApiResponse get_document(const std::string& id);
  ApiResponse health(bool details);

  ServiceBackend& backend_;
  ServiceLimits limits_;
  // Shared by search, embed, health and the embedding step of an add;
  // exclusive for the write of an add and for delete.
  std::shared_mutex lock_;
  // One add or delete at a time, from its embedding step to its write.
  std::mutex write_mutex_;
};

}  // namespace peft::search
