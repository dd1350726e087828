// manifest.json of a search index: how its vectors were made, so that
// queries are embedded exactly as the documents were, and a query with
// another model (or adapter, pooling, dims, prompts) is refused.
//
// Identity: `model_id` / `adapter_id` are content hashes of the model and
// adapter files (search/content_id.h), so a model moved to another path is
// still the same model, and a model retrained in place is not.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace peft {

struct Manifest {
  static constexpr int kFormat = 1;  // bumped when the folder layout changes

  // How vectors are made.
  std::string model;                 // path as given to `peft index build`
  std::string model_id;              // content_id() of the model
  std::vector<std::string> adapters; // "DIR" or "DIR:SCALE", as given
  std::string adapter_id;            // content_id() of the adapters, "" if none
  std::string embedder;              // "encoder" | "decoder" (the Embedder's kind)
  std::string pooling;               // "mean", "cls", "last", ...
  bool normalize = true;             // the model's own L2 normalisation
  int64_t dims = 0;                  // vector length stored (after truncation)
  std::string query_prompt;          // prepended to queries
  std::string document_prompt;       // prepended to documents
  int64_t max_tokens = 0;            // truncation length used, 0 = model's

  // How documents were split (0 = not split).
  int64_t chunk_tokens = 0;
  int64_t chunk_overlap = 0;

  // The index.
  std::string metric = "cosine";     // vectors stored L2-normalised
  int64_t hnsw_m = 16;
  int64_t ef_construction = 100;
  // Search breadth used when a query names none: > 0 fixed; 0 (default)
  // measured on the index's own graph after every large write so that
  // recall@10 against the exact scan reaches `recall_target`
  // (search/ef_calibration.h; the choice may be the exact scan).
  int64_t ef_search = 0;
  double recall_target = 0.95;

  // Ceilings on what a manifest may say, checked before anything is sized
  // by it (a manifest is a file a stranger may hand us: dims 10^15 made
  // opening the index allocate the graph's rows before comparing them with
  // the stored vectors). Real embedding models have at most a few thousand
  // dims; hnswlib suggests M of 2..100 and gives every node 8·M bytes of
  // links; the breadths are candidates kept while searching.
  static constexpr int64_t kMaxDims = 65536;
  static constexpr int64_t kMaxHnswM = 1024;
  static constexpr int64_t kMaxEf = 1 << 20;

  // Throws InputError "[search] <where>: ..." for a value out of range
  // (dims, HNSW settings, chunking, max_tokens, metric).
  void check(const std::string& where) const;

  nlohmann::json to_json() const;
  // Throws InputError "[search] <path>: ..." for a missing or malformed
  // field, or one check() refuses.
  static Manifest from_json(const nlohmann::json& j, const std::string& path);

  // Throws InputError "[search] ..." naming the first field that differs in
  // how vectors are made (model identity, adapter identity, embedder,
  // pooling, normalisation, dims, prompts, max_tokens): `other` is how the
  // caller would embed its queries. Paths may differ; identities may not.
  void check_same_embedding(const Manifest& other, const std::string& index_dir) const;
};

}  // namespace peft
