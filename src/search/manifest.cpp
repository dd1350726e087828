#include "search/manifest.h"

#include <cstdint>

#include "core/error.h"

namespace peft {

nlohmann::json Manifest::to_json() const {
  nlohmann::json j;
  j["format"] = kFormat;
  j["model"] = model;
  j["model_id"] = model_id;
  j["adapters"] = adapters;
  j["adapter_id"] = adapter_id;
  j["embedder"] = embedder;
  j["pooling"] = pooling;
  j["normalize"] = normalize;
  j["dims"] = dims;
  j["query_prompt"] = query_prompt;
  j["document_prompt"] = document_prompt;
  j["max_tokens"] = max_tokens;
  j["chunk_tokens"] = chunk_tokens;
  j["chunk_overlap"] = chunk_overlap;
  j["metric"] = metric;
  j["hnsw"] = {{"m", hnsw_m}, {"ef_construction", ef_construction}, {"ef_search", ef_search},
               {"recall_target", recall_target}};
  return j;
}

namespace {

template <typename T>
T field(const nlohmann::json& j, const char* key, const std::string& path) {
  if (!j.contains(key)) fail("search", path + ": missing field '" + key + "'");
  try {
    return j.at(key).get<T>();
  } catch (const nlohmann::json::exception&) {
    fail("search", path + ": field '" + key + "' has the wrong type");
  }
}

}  // namespace

Manifest Manifest::from_json(const nlohmann::json& j, const std::string& path) {
  if (!j.is_object()) fail("search", path + ": not a JSON object");
  const int format = field<int>(j, "format", path);
  if (format != kFormat)
    fail("search", path + ": index format " + std::to_string(format) + ", this peft reads format " +
                       std::to_string(kFormat) + " (rebuild the index)");
  Manifest m;
  m.model = field<std::string>(j, "model", path);
  m.model_id = field<std::string>(j, "model_id", path);
  m.adapters = field<std::vector<std::string>>(j, "adapters", path);
  m.adapter_id = field<std::string>(j, "adapter_id", path);
  m.embedder = field<std::string>(j, "embedder", path);
  m.pooling = field<std::string>(j, "pooling", path);
  m.normalize = field<bool>(j, "normalize", path);
  m.dims = field<int64_t>(j, "dims", path);
  m.query_prompt = field<std::string>(j, "query_prompt", path);
  m.document_prompt = field<std::string>(j, "document_prompt", path);
  m.max_tokens = field<int64_t>(j, "max_tokens", path);
  m.chunk_tokens = field<int64_t>(j, "chunk_tokens", path);
  m.chunk_overlap = field<int64_t>(j, "chunk_overlap", path);
  m.metric = field<std::string>(j, "metric", path);
  const auto hnsw = field<nlohmann::json>(j, "hnsw", path);
  m.hnsw_m = field<int64_t>(hnsw, "m", path);
  m.ef_construction = field<int64_t>(hnsw, "ef_construction", path);
  m.ef_search = field<int64_t>(hnsw, "ef_search", path);
  // Indexes written before the calibrated default have no recall_target.
  if (hnsw.contains("recall_target")) m.recall_target = field<double>(hnsw, "recall_target", path);
  m.check(path);
  return m;
}

void Manifest::check(const std::string& where) const {
  auto range = [&](const char* name, int64_t v, int64_t lo, int64_t hi) {
    if (v < lo || v > hi)
      fail("search", where + ": " + name + " is " + std::to_string(v) + ", outside " + std::to_string(lo) + ".." +
                         std::to_string(hi));
  };
  range("dims", dims, 1, kMaxDims);
  if (metric != "cosine") fail("search", where + ": metric '" + metric + "' is not supported (cosine)");
  range("hnsw.m", hnsw_m, 2, kMaxHnswM);
  range("hnsw.ef_construction", ef_construction, 1, kMaxEf);
  range("hnsw.ef_search (0: measured)", ef_search, 0, kMaxEf);
  if (!(recall_target > 0 && recall_target <= 1))
    fail("search", where + ": hnsw.recall_target is " + std::to_string(recall_target) + ", outside (0, 1]");
  range("max_tokens", max_tokens, 0, INT32_MAX);
  range("chunk_tokens", chunk_tokens, 0, INT32_MAX);
  if (chunk_tokens > 0)
    range("chunk_overlap", chunk_overlap, 0, chunk_tokens - 1);
  else
    range("chunk_overlap (without chunk_tokens)", chunk_overlap, 0, 0);
}

void Manifest::check_same_embedding(const Manifest& o, const std::string& dir) const {
  auto refuse = [&](const std::string& what, const std::string& ours, const std::string& theirs) {
    fail("search", dir + ": the index was built with " + what + " " + ours + ", the query would use " + theirs +
                       "; query with the index's own settings or rebuild the index");
  };
  auto q = [](const std::string& s) { return "'" + s + "'"; };
  if (model_id != o.model_id)
    refuse("model", q(model) + " (id " + model_id.substr(0, 12) + ")", q(o.model) + " (id " + o.model_id.substr(0, 12) + ")");
  if (adapter_id != o.adapter_id)
    refuse("adapter", adapter_id.empty() ? "none" : "id " + adapter_id.substr(0, 12),
           o.adapter_id.empty() ? "none" : "id " + o.adapter_id.substr(0, 12));
  if (embedder != o.embedder) refuse("embedder", q(embedder), q(o.embedder));
  if (pooling != o.pooling) refuse("pooling", q(pooling), q(o.pooling));
  if (normalize != o.normalize) refuse("normalize", normalize ? "true" : "false", o.normalize ? "true" : "false");
  if (dims != o.dims) refuse("dims", std::to_string(dims), std::to_string(o.dims));
  if (query_prompt != o.query_prompt) refuse("query prompt", q(query_prompt), q(o.query_prompt));
  if (document_prompt != o.document_prompt) refuse("document prompt", q(document_prompt), q(o.document_prompt));
  if (max_tokens != o.max_tokens) refuse("max_tokens", std::to_string(max_tokens), std::to_string(o.max_tokens));
}

}  // namespace peft
