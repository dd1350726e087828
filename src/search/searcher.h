// An index together with the embedding model that made it: what the CLI
// (index build/add, search, eval retrieval, mine-negatives) and the HTTP
// service use to go from text to results.
//
// The model is the manifest's: open() loads manifest().model with its
// adapter and refuses to run when the files there are no longer the ones
// the index was built with (content identity, search/content_id.h), or
// when the caller names another model. Queries get the manifest's query
// prompt, documents its document prompt, both truncated to its max_tokens
// and cut to its dims, so a query is always embedded as the documents were.
//
// Threads: search() and embed_queries() may be called from several threads;
// embedding is serialised (an Embedder runs one batch at a time, using every
// core), the index lookups run concurrently.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "search/index.h"

namespace peft {

class Embedder;
class Communicator;

// How `peft index build` embeds. Prompts are names from the model's
// config_sentence_transformers.json or literal text; "" picks the prompt
// the adapter was trained with, when it recorded one, else sentence-
// transformers' choice (queries: the "query" prompt if the model has one;
// documents: "document", "passage" or "corpus"; else the model's default).
struct EmbeddingSettings {
  std::string model;
  std::string adapter;  // a PEFT folder, "" for none
  std::string query_prompt, document_prompt;
  int64_t dims = 0;        // 0 = the model's
  int64_t max_tokens = 0;  // 0 = the model's
};

class Searcher {
 public:
  // Loads the model of `s` and describes it in a manifest (identities
  // hashed, prompts resolved to their text). Then create the index with
  // make_manifest() (after setting chunking and HNSW fields).
  static std::unique_ptr<Searcher> for_build(const EmbeddingSettings& s);
  Manifest make_manifest() const { return manifest_; }
  // Creates the index in `dir` from make_manifest()-like `m`, or, when
  // `dir` already holds an index made the same way, opens it to resume.
  void create_or_resume(const std::string& dir, const Manifest& m);

  // Opens an index and loads its model. `model` / `adapter`, when not empty,
  // are what the caller asked for: they must be the index's (by content).
  // Throws InputError "[search] ..." naming the difference.
  static std::unique_ptr<Searcher> open(const std::string& dir, SearchIndex::Access access,
                                        const std::string& model = "", const std::string& adapter = "");
  ~Searcher();

  SearchIndex& index() { return *index_; }
  const SearchIndex& index() const { return *index_; }
  Embedder& embedder() { return *embedder_; }
  const Manifest& manifest() const { return manifest_; }

  // Embeddings [n, dims], in order.
  std::vector<float> embed_queries(const std::vector<std::string>& texts);
  // With `comm` of several ranks (mpirun), every rank calls this with the
  // same documents; the ranks share the batches as peft embed does and rank
  // 0 gets the rows, bitwise those of one process; other ranks get {}.
  std::vector<float> embed_documents(const std::vector<SearchDocument>& docs,
                                     const std::function<void(int64_t, int64_t)>& progress = nullptr,
                                     Communicator* comm = nullptr);
  // Token count of one text without special tokens (for chunking).
  int64_t count_tokens(const std::string& text) const;

  // Runs `req` for `text`: req.text is set to `text`, and req.vector to its
  // embedding when the mode needs one.
  std::vector<SearchHit> search(const std::string& text, SearchRequest req);

 private:
  Searcher();
  std::unique_ptr<Embedder> embedder_;
  std::unique_ptr<SearchIndex> index_;
  Manifest manifest_;
  std::string query_prompt_name_, document_prompt_name_;
  std::mutex embed_mu_;
};

}  // namespace peft
