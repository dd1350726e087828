#include "search/service_api.h"

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <mutex>
#include <set>

#include "core/error.h"
#include "search/search_page.h"
#include "search/snippet.h"

namespace peft::search {

using Json = nlohmann::json;

namespace {

ApiResponse json_response(int status, const Json& j) {
  ApiResponse r;
  r.status = status;
  // Document texts are the user's bytes: invalid UTF-8 becomes U+FFFD rather
  // than a failed response.
  r.body = j.dump(-1, ' ', false, Json::error_handler_t::replace);
  return r;
}

ApiResponse method_not_allowed(const std::string& path, const std::string& allow) {
  ApiResponse r = api_error(405, "method not allowed on " + path + " (allowed: " + allow + ")");
  r.headers.push_back({"Allow", allow});
  return r;
}

// Parses a whole decimal integer; false on anything else (sign allowed).
bool parse_int(const std::string& s, int64_t& out) {
  if (s.empty() || s.size() > 18) return false;
  size_t i = s[0] == '-' || s[0] == '+' ? 1 : 0;
  if (i == s.size()) return false;
  for (size_t j = i; j < s.size(); ++j)
    if (s[j] < '0' || s[j] > '9') return false;
  out = std::strtoll(s.c_str(), nullptr, 10);
  return true;
}

// A metadata key as the index accepts it (`peft search --where`): letters,
// digits, '_', '-', and '.' between nested fields.
void check_where_key(const std::string& key) {
  bool ok = !key.empty();
  for (char c : key)
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.');
  if (!ok) fail("serve", "where: the key '" + key + "' must be letters, digits, '_', '-' or '.'");
}

// KEY=VALUE.
std::pair<std::string, std::string> parse_where(const std::string& s) {
  const size_t eq = s.find('=');
  if (eq == std::string::npos || eq == 0) fail("serve", "where must be KEY=VALUE, got '" + s + "'");
  check_where_key(s.substr(0, eq));
  return {s.substr(0, eq), s.substr(eq + 1)};
}

// A metadata value to compare with: strings as they are, numbers and
// booleans as their JSON text.
std::string where_value(const std::string& key, const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number() || v.is_boolean()) return v.dump();
  fail("serve", "where." + key + " must be a string, number or boolean");
}

ApiResponse read_only() {
  return api_error(403, "[serve] this service is read-only (started with --read-only): documents cannot be added or deleted");
}

Json parse_body(const std::string& body) {
  if (body.empty()) fail("serve", "the request body is empty; expected JSON");
  try {
    return Json::parse(body);
  } catch (const Json::exception& e) {
    // parse_error, and out_of_range for a number beyond a double (found by
    // fuzz_serve: it was a 500). nlohmann's message names the byte offset,
    // which is what a client needs.
    std::string what = e.what();
    const size_t p = what.find("] ");
    fail("serve", "malformed JSON: " + (p == std::string::npos ? what : what.substr(p + 2)));
  }
}

}  // namespace

ApiResponse api_error(int status, const std::string& message) {
  return json_response(status, Json{{"error", message}});
}

SearchService::SearchService(ServiceBackend& backend, ServiceLimits limits) : backend_(backend), limits_(limits) {}

ApiResponse SearchService::handle(const ApiRequest& req) {
  try {
    return route(req);
  } catch (const InputError& e) {
    return api_error(400, e.what());
  } catch (const std::bad_alloc&) {
    return api_error(500, "internal: out of memory");
  } catch (const std::exception& e) {
    return api_error(500, std::string("internal: ") + e.what());
  }
}

ApiResponse SearchService::route(const ApiRequest& req) {
  const std::string& p = req.path;
  const bool get = req.method == "GET" || req.method == "HEAD";
  if (p == "/") {
    if (!get) return method_not_allowed(p, "GET, HEAD");
    ApiResponse r;
    r.content_type = "text/html; charset=utf-8";
    r.body = search_page_html();
    return r;
  }
  if (p == "/health" || p == "/info") {
    if (!get) return method_not_allowed(p, "GET, HEAD");
    return health(p == "/info");
  }
  if (p == "/search") {
    if (get) return search_get(req);
    if (req.method == "POST") return search_post(req);
    return method_not_allowed(p, "GET, HEAD, POST");
  }
  if (p == "/embed") {
    if (req.method != "POST") return method_not_allowed(p, "POST");
    return embed(req);
  }
  if (p == "/documents") {
    if (req.method != "POST") return method_not_allowed(p, "POST");
    if (limits_.read_only) return read_only();
    return add_documents(req);
  }
  const std::string docs = "/documents/";
  if (p.size() > docs.size() && p.compare(0, docs.size(), docs) == 0) {
    if (get) return get_document(p.substr(docs.size()));
    if (req.method != "DELETE") return method_not_allowed(p, "GET, HEAD, DELETE");
    if (limits_.read_only) return read_only();
    return delete_document(p.substr(docs.size()));
  }
  return api_error(404, "no such path: " + p);
}

ApiResponse SearchService::search_get(const ApiRequest& req) {
  ServiceQuery q;
  auto one = [&](const std::string& name, std::string& out) {
    const auto n = req.params.count(name);
    if (n > 1) fail("serve", "parameter '" + name + "' given more than once");
    if (n == 1) out = req.params.find(name)->second;
    return n == 1;
  };
  if (!one("q", q.q)) fail("serve", "missing parameter 'q' (the query text)");
  std::string s;
  if (one("k", s) && !parse_int(s, q.k)) fail("serve", "k must be an integer, got '" + s + "'");
  if (one("mode", s) && !parse_service_mode(s, q.mode))
    fail("serve", "mode must be vector, bm25 or hybrid, got '" + s + "'");
  auto [b, e] = req.params.equal_range("where");
  for (auto it = b; it != e; ++it) q.where.push_back(parse_where(it->second));
  for (const auto& [name, value] : req.params)
    if (name != "q" && name != "k" && name != "mode" && name != "where")
      fail("serve", "unknown parameter '" + name + "' (known: q, k, mode, where)");
  return do_search(q);
}

ApiResponse SearchService::search_post(const ApiRequest& req) {
  const Json j = parse_body(req.body);
  if (!j.is_object()) fail("serve", "the body must be a JSON object {\"q\": ..., \"k\": ..., \"mode\": ..., \"where\": ...}");
  ServiceQuery q;
  if (!j.contains("q")) fail("serve", "missing field 'q' (the query text)");
  if (!j["q"].is_string()) fail("serve", "q must be a string");
  q.q = j["q"].get<std::string>();
  if (j.contains("k")) {
    if (!j["k"].is_number_integer()) fail("serve", "k must be an integer");
    q.k = j["k"].get<int64_t>();
  }
  if (j.contains("mode")) {
    if (!j["mode"].is_string() || !parse_service_mode(j["mode"].get<std::string>(), q.mode))
      fail("serve", "mode must be \"vector\", \"bm25\" or \"hybrid\"");
  }
  if (j.contains("where") && !j["where"].is_null()) {
    const Json& w = j["where"];
    if (w.is_string()) {
      q.where.push_back(parse_where(w.get<std::string>()));
    } else if (w.is_object()) {
      for (const auto& [key, v] : w.items()) {
        check_where_key(key);
        q.where.push_back({key, where_value(key, v)});
      }
    } else {
      fail("serve", "where must be \"KEY=VALUE\" or an object {\"KEY\": VALUE, ...}");
    }
  }
  for (const auto& [key, v] : j.items())
    if (key != "q" && key != "k" && key != "mode" && key != "where")
      fail("serve", "unknown field '" + key + "' (known: q, k, mode, where)");
  return do_search(q);
}

ApiResponse SearchService::do_search(const ServiceQuery& q) {
  if (q.q.find_first_not_of(" \t\r\n") == std::string::npos) fail("serve", "q is empty");
  if (q.q.size() > limits_.max_query_bytes)
    fail("serve", "q is " + std::to_string(q.q.size()) + " bytes, more than the limit of " +
                      std::to_string(limits_.max_query_bytes));
  if (q.k < 1 || q.k > limits_.max_k)
    fail("serve", "k must be between 1 and " + std::to_string(limits_.max_k) + ", got " + std::to_string(q.k));
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<ServiceHit> hits;
  {
    std::shared_lock lk(lock_);
    hits = backend_.search(q);
  }
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  const std::vector<std::string> terms = query_terms(q.q);
  Json results = Json::array();
  for (const ServiceHit& h : hits) {
    const Snippet s = make_snippet(h.text, terms, limits_.snippet_bytes);
    Json marks = Json::array();
    for (auto [a, z] : s.highlights) marks.push_back({a, z});
    results.push_back({{"id", h.id},
                       {"score", h.score},
                       {"title", h.title},
                       {"snippet", s.text},
                       {"highlights", marks},
                       {"metadata", h.metadata}});
  }
  Json where = Json::object();
  for (const auto& [k, v] : q.where) where[k] = v;
  return json_response(200, Json{{"query", q.q},
                                 {"mode", service_mode_name(q.mode)},
                                 {"k", q.k},
                                 {"where", where},
                                 {"took_ms", std::round(ms * 1000) / 1000},
                                 {"results", results}});
}

ApiResponse SearchService::embed(const ApiRequest& req) {
  const Json j = parse_body(req.body);
  if (!j.is_object() || !j.contains("texts")) fail("serve", "the body must be {\"texts\": [\"...\", ...]}");
  const Json& t = j["texts"];
  if (!t.is_array() || t.empty()) fail("serve", "texts must be a non-empty array of strings");
  if (t.size() > limits_.max_embed_texts)
    fail("serve", "texts has " + std::to_string(t.size()) + " entries, more than the limit of " +
                      std::to_string(limits_.max_embed_texts));
  for (const auto& [key, v] : j.items())
    if (key != "texts") fail("serve", "unknown field '" + key + "' (known: texts)");
  std::vector<std::string> texts;
  for (const Json& x : t) {
    if (!x.is_string()) fail("serve", "texts[" + std::to_string(texts.size()) + "] must be a string");
    texts.push_back(x.get<std::string>());
    if (texts.back().size() > limits_.max_text_bytes)
      fail("serve", "texts[" + std::to_string(texts.size() - 1) + "] is longer than the limit of " +
                        std::to_string(limits_.max_text_bytes) + " bytes");
  }
  std::vector<std::vector<float>> vecs;
  ServiceInfo info;
  {
    std::shared_lock lk(lock_);
    vecs = backend_.embed(texts);
    info = backend_.info();
  }
  return json_response(200, Json{{"model", info.model}, {"dims", info.dims}, {"vectors", vecs}});
}

ApiResponse SearchService::add_documents(const ApiRequest& req) {
  const Json j = parse_body(req.body);
  const Json* list = &j;
  if (j.is_object()) {
    if (!j.contains("documents") || j.size() != 1)
      fail("serve", "the body must be [{\"id\", \"title\", \"text\", ...}, ...] or {\"documents\": [...]}");
    list = &j["documents"];
  }
  if (!list->is_array() || list->empty()) fail("serve", "documents must be a non-empty array of objects");
  if (list->size() > limits_.max_add_documents)
    fail("serve", std::to_string(list->size()) + " documents, more than the limit of " +
                      std::to_string(limits_.max_add_documents) + " per request");
  std::vector<ServiceDocument> docs;
  std::set<std::string> ids;
  for (const Json& d : *list) {
    const std::string where = "documents[" + std::to_string(docs.size()) + "]";
    if (!d.is_object()) fail("serve", where + " must be an object");
    ServiceDocument doc;
    const bool has_id = d.contains("id"), has_uid = d.contains("_id");
    if (has_id == has_uid) fail("serve", where + " needs exactly one of 'id' and '_id'");
    const Json& id = d[has_id ? "id" : "_id"];
    if (id.is_string())
      doc.id = id.get<std::string>();
    else if (id.is_number_integer())
      doc.id = id.dump();
    else
      fail("serve", where + ".id must be a string or an integer");
    if (doc.id.empty()) fail("serve", where + ".id is empty");
    if (!ids.insert(doc.id).second) fail("serve", "id '" + doc.id + "' appears twice in the request");
    if (!d.contains("text") || !d["text"].is_string()) fail("serve", where + " needs a string 'text'");
    doc.text = d["text"].get<std::string>();
    if (doc.text.size() > limits_.max_text_bytes)
      fail("serve", where + ".text is longer than the limit of " + std::to_string(limits_.max_text_bytes) + " bytes");
    if (d.contains("title") && !d["title"].is_null()) {
      if (!d["title"].is_string()) fail("serve", where + ".title must be a string");
      doc.title = d["title"].get<std::string>();
    }
    for (const auto& [key, v] : d.items())
      if (key != "id" && key != "_id" && key != "title" && key != "text") doc.metadata[key] = v;
    docs.push_back(std::move(doc));
  }
  ServiceInfo info;
  int64_t replaced = 0, n = 0;
  {
    std::lock_guard one_writer(write_mutex_);
    PreparedDocuments prepared;
    {
      std::shared_lock lk(lock_);  // embedding runs beside searches
      prepared = backend_.prepare(std::move(docs));
    }
    // What is stored: more than was sent when the index splits documents.
    n = static_cast<int64_t>(prepared.docs.size());
    std::unique_lock lk(lock_);
    replaced = backend_.add(prepared);
    info = backend_.info();
  }
  return json_response(200, Json{{"added", n - replaced},
                                 {"replaced", replaced},
                                 {"documents", info.documents}});
}

ApiResponse SearchService::delete_document(const std::string& id) {
  ServiceInfo info;
  {
    std::lock_guard one_writer(write_mutex_);
    std::unique_lock lk(lock_);
    if (!backend_.remove(id)) return api_error(404, "no document with id '" + id + "'");
    info = backend_.info();
  }
  return json_response(200, Json{{"deleted", id}, {"documents", info.documents}});
}

ApiResponse SearchService::get_document(const std::string& id) {
  std::optional<ServiceDocument> d;
  {
    std::shared_lock lk(lock_);
    d = backend_.get(id);
  }
  if (!d) return api_error(404, "no document with id '" + id + "'");
  return json_response(200, Json{{"id", d->id}, {"title", d->title}, {"text", d->text}, {"metadata", d->metadata}});
}

ApiResponse SearchService::health(bool details) {
  ServiceInfo info;
  {
    std::shared_lock lk(lock_);
    info = backend_.info();
  }
  Json j{{"status", "ok"},
         {"documents", info.documents},
         {"model", info.model},
         {"adapter", info.adapter},
         {"dims", info.dims},
         {"read_only", limits_.read_only}};
  if (details) {
    j["limits"] = Json{{"max_k", limits_.max_k},
                       {"max_query_bytes", limits_.max_query_bytes},
                       {"max_embed_texts", limits_.max_embed_texts},
                       {"max_text_bytes", limits_.max_text_bytes},
                       {"max_add_documents", limits_.max_add_documents}};
    j["index"] = info.details;
  }
  return json_response(200, j);
}

const char* service_mode_name(ServiceMode m) {
  switch (m) {
    case ServiceMode::Vector: return "vector";
    case ServiceMode::Bm25: return "bm25";
    case ServiceMode::Hybrid: return "hybrid";
  }
  return "?";
}

bool parse_service_mode(const std::string& s, ServiceMode& out) {
  if (s == "vector") out = ServiceMode::Vector;
  else if (s == "bm25") out = ServiceMode::Bm25;
  else if (s == "hybrid") out = ServiceMode::Hybrid;
  else return false;
  return true;
}

}  // namespace peft::search
