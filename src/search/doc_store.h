// The documents of an index in SQLite (docs.sqlite): id, title, text, JSON
// metadata and the f32 vector of each document, an FTS5 table over title and
// text for BM25, and a small key/value table (generation, graph file).
//
//   docs(rowid INTEGER PRIMARY KEY AUTOINCREMENT,  -- the HNSW label; never reused
//        id TEXT UNIQUE, title TEXT, text TEXT, meta TEXT (JSON), vec BLOB [dims] f32)
//   fts  USING fts5(title, text, content='docs', content_rowid='rowid',
//                   tokenize='porter unicode61')  -- external content: no second copy
//   meta(key TEXT PRIMARY KEY, value TEXT)
//
// AUTOINCREMENT keeps a deleted document's rowid from being handed to a new
// one, so a graph label always means one document. The vectors are here (not
// only in the graph file) so that the graph can always be rebuilt from this
// one transactional file.
//
// Not thread-safe by itself: one thread uses a DocStore (one connection) at a
// time; SearchIndex keeps one for writing and a pool of read-only ones.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "search/index.h"

struct sqlite3;

namespace peft {

class DocStore {
 public:
  // Opens (or with `create`, creates) `path`. Throws InputError "[search] ...".
  static std::unique_ptr<DocStore> open(const std::string& path, bool create, bool writable);
  ~DocStore();

  void begin();     // BEGIN IMMEDIATE
  void commit();
  void rollback();  // never throws
  // Runs `fn` inside a read transaction (BEGIN ... COMMIT): what it reads is
  // one committed state, and no other process commits until it returns.
  void read_transaction(const std::function<void()>& fn);

  std::string meta(const std::string& key, const std::string& fallback = "") const;
  void set_meta(const std::string& key, const std::string& value);

  // Inserts one document with its vector [dims]; returns its new rowid.
  int64_t insert(const SearchDocument& doc, const float* vec, int64_t dims);
  // Removes the document `id` (docs and fts); returns its rowid, or nullopt.
  std::optional<int64_t> erase(const std::string& id);
  std::optional<int64_t> rowid_of(const std::string& id) const;
  // The ids of the stored chunks of document `parent` (search/corpus.h:
  // id "parent#j" with metadata "parent": parent), in insertion order.
  std::vector<std::string> chunk_ids(const std::string& parent) const;

  int64_t count() const;
  std::optional<SearchDocument> get(const std::string& id) const;
  std::optional<SearchDocument> get_row(int64_t rowid) const;
  // id and title of a rowid ("" when absent).
  std::pair<std::string, std::string> id_title(int64_t rowid) const;
  std::vector<float> vector(const std::string& id, int64_t dims) const;
  std::vector<std::string> ids() const;  // rowid order
  // Every (rowid, vector) in rowid order.
  void for_each_vector(int64_t dims, const std::function<void(int64_t, const float*)>& fn) const;

  // BM25 over title and text: the k best (rowid, -bm25) for free text,
  // filtered; ties by rowid.
  std::vector<std::pair<int64_t, double>> bm25(const std::string& text, int64_t k, const SearchFilter& where) const;
  // Rowids whose metadata passes `where`.
  std::unordered_set<int64_t> filter_rowids(const SearchFilter& where) const;
  // FTS5 snippet of the text of `rowid` around the query's words; the first
  // `tokens` words of the text when none of them occurs.
  std::string snippet(int64_t rowid, const std::string& query, int64_t tokens, const std::string& open,
                      const std::string& close) const;

 private:
  DocStore() = default;
  void exec(const std::string& sql) const;
  sqlite3* db_ = nullptr;
  std::string path_;
};

// Free text -> an FTS5 query: each word (a run of letters and digits; any
// non-ASCII byte counts as a letter) quoted and joined by OR, so that no user
// text is read as FTS5 syntax. "" when the text has no words.
std::string fts_query(const std::string& text);

}  // namespace peft
