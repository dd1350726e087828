#include "search/doc_store.h"

#include <sqlite3.h>

#include <cstring>

#include "core/error.h"
#include "search/filter.h"

namespace peft {

namespace {

// One prepared statement, finalised on scope exit.
class Stmt {
 public:
  Stmt(sqlite3* db, const std::string& sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql.c_str(), int(sql.size()), &s_, nullptr) != SQLITE_OK)
      fail("search", std::string("SQLite: ") + sqlite3_errmsg(db));
  }
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& text(int i, const std::string& v) {
    check(sqlite3_bind_text(s_, i, v.data(), int(v.size()), SQLITE_TRANSIENT));
    return *this;
  }
  Stmt& i64(int i, int64_t v) {
    check(sqlite3_bind_int64(s_, i, v));
    return *this;
  }
  Stmt& blob(int i, const void* p, size_t n) {
    check(sqlite3_bind_blob(s_, i, p, int(n), SQLITE_TRANSIENT));
    return *this;
  }
  // True while there is a row.
  bool step() {
    const int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    fail("search", std::string("SQLite: ") + sqlite3_errmsg(db_));
  }
  int64_t col_i64(int c) const { return sqlite3_column_int64(s_, c); }
  double col_f64(int c) const { return sqlite3_column_double(s_, c); }
  std::string col_text(int c) const {
    const auto* p = sqlite3_column_text(s_, c);
    return p ? std::string(reinterpret_cast<const char*>(p), size_t(sqlite3_column_bytes(s_, c))) : std::string();
  }
  const void* col_blob(int c, size_t* n) const {
    const void* p = sqlite3_column_blob(s_, c);
    *n = size_t(sqlite3_column_bytes(s_, c));
    return p;
  }

 private:
  void check(int rc) {
    if (rc != SQLITE_OK) fail("search", std::string("SQLite: ") + sqlite3_errmsg(db_));
  }
  sqlite3* db_;
  sqlite3_stmt* s_ = nullptr;
};

SearchDocument row_doc(const Stmt& s, int first_col) {
  SearchDocument d;
  d.id = s.col_text(first_col);
  d.title = s.col_text(first_col + 1);
  d.text = s.col_text(first_col + 2);
  d.meta = nlohmann::json::parse(s.col_text(first_col + 3), nullptr, false);
  if (d.meta.is_discarded()) d.meta = nlohmann::json::object();
  return d;
}

}  // namespace

std::string fts_query(const std::string& text) {
  std::string q, word;
  auto flush = [&] {
    if (word.empty()) return;
    if (!q.empty()) q += " OR ";
    q += "\"" + word + "\"";  // words hold no '"', so no escaping is needed
    word.clear();
  };
  for (unsigned char c : text) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80)
      word += char(c);
    else
      flush();
  }
  flush();
  return q;
}

std::unique_ptr<DocStore> DocStore::open(const std::string& path, bool create, bool writable) {
  std::unique_ptr<DocStore> s(new DocStore());
  s->path_ = path;
  int flags = writable ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY;
  if (create) flags |= SQLITE_OPEN_CREATE;
  if (sqlite3_open_v2(path.c_str(), &s->db_, flags | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
    std::string msg = s->db_ ? sqlite3_errmsg(s->db_) : "out of memory";
    fail("search", "cannot open '" + path + "': " + msg);
  }
  sqlite3_busy_timeout(s->db_, 5000);
  // The rollback journal (not WAL): one file plus a journal that exists only
  // during a write, and a crash mid-write is undone by the next opener.
  // synchronous=FULL: a committed write is on disk before commit() returns.
  s->exec("PRAGMA synchronous=FULL");
  if (create) {
    s->exec("PRAGMA journal_mode=DELETE");
    s->begin();
    s->exec(
        "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        "CREATE TABLE docs(rowid INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,"
        " title TEXT NOT NULL, text TEXT NOT NULL, meta TEXT NOT NULL, vec BLOB NOT NULL);"
        "CREATE VIRTUAL TABLE fts USING fts5(title, text, content='docs', content_rowid='rowid',"
        " tokenize='porter unicode61');");
    s->set_meta("generation", "0");
    s->commit();
  } else {
    // A file that is not an index's database fails here with one line.
    try {
      Stmt st(s->db_, "SELECT count(*) FROM sqlite_master WHERE name IN ('docs','fts','meta')");
      if (!st.step() || st.col_i64(0) != 3) fail("search", path + ": not an index database");
    } catch (const InputError& e) {
      fail("search", path + ": not an index database (" + e.what() + ")");
    }
  }
  return s;
}

DocStore::~DocStore() { sqlite3_close(db_); }

void DocStore::exec(const std::string& sql) const {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errmsg(db_);
    sqlite3_free(err);
    fail("search", path_ + ": SQLite: " + msg);
  }
}

void DocStore::begin() { exec("BEGIN IMMEDIATE"); }
void DocStore::commit() { exec("COMMIT"); }
void DocStore::rollback() {
  if (!sqlite3_get_autocommit(db_)) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

void DocStore::read_transaction(const std::function<void()>& fn) {
  exec("BEGIN");
  try {
    fn();
  } catch (...) {
    rollback();
    throw;
  }
  exec("COMMIT");
}

std::string DocStore::meta(const std::string& key, const std::string& fallback) const {
  Stmt s(db_, "SELECT value FROM meta WHERE key = ?");
  s.text(1, key);
  return s.step() ? s.col_text(0) : fallback;
}

void DocStore::set_meta(const std::string& key, const std::string& value) {
  Stmt s(db_, "INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value");
  s.text(1, key).text(2, value);
  s.step();
}

int64_t DocStore::insert(const SearchDocument& doc, const float* vec, int64_t dims) {
  {
    Stmt s(db_, "INSERT INTO docs(id, title, text, meta, vec) VALUES(?, ?, ?, ?, ?)");
    s.text(1, doc.id).text(2, doc.title).text(3, doc.text).text(4, doc.meta.dump());
    s.blob(5, vec, size_t(dims) * sizeof(float));
    s.step();
  }
  const int64_t rowid = sqlite3_last_insert_rowid(db_);
  Stmt f(db_, "INSERT INTO fts(rowid, title, text) VALUES(?, ?, ?)");
  f.i64(1, rowid).text(2, doc.title).text(3, doc.text);
  f.step();
  return rowid;
}

std::optional<int64_t> DocStore::erase(const std::string& id) {
  Stmt s(db_, "SELECT rowid, title, text FROM docs WHERE id = ?");
  s.text(1, id);
  if (!s.step()) return std::nullopt;
  const int64_t rowid = s.col_i64(0);
  // An external-content FTS5 table forgets a row only when told its old
  // values (that is how it finds the tokens to remove).
  Stmt f(db_, "INSERT INTO fts(fts, rowid, title, text) VALUES('delete', ?, ?, ?)");
  f.i64(1, rowid).text(2, s.col_text(1)).text(3, s.col_text(2));
  f.step();
  Stmt d(db_, "DELETE FROM docs WHERE rowid = ?");
  d.i64(1, rowid);
  d.step();
  return rowid;
}

std::optional<int64_t> DocStore::rowid_of(const std::string& id) const {
  Stmt s(db_, "SELECT rowid FROM docs WHERE id = ?");
  s.text(1, id);
  if (!s.step()) return std::nullopt;
  return s.col_i64(0);
}

std::vector<std::string> DocStore::chunk_ids(const std::string& parent) const {
  // ids P#0, P#1, ... sort between "P#" and "P$" ('$' follows '#'), so the
  // UNIQUE index on id finds them without a scan; the metadata confirms
  // that each is a chunk of P and not a document that happens to be named so.
  Stmt s(db_, "SELECT id FROM docs WHERE id > ?1 AND id < ?2 AND json_extract(meta, '$.parent') = ?3 ORDER BY rowid");
  s.text(1, parent + "#").text(2, parent + "$").text(3, parent);
  std::vector<std::string> out;
  while (s.step()) {
    std::string id = s.col_text(0);
    const std::string tail = id.substr(parent.size() + 1);
    if (!tail.empty() && tail.find_first_not_of("0123456789") == std::string::npos) out.push_back(std::move(id));
  }
  return out;
}

int64_t DocStore::count() const {
  Stmt s(db_, "SELECT count(*) FROM docs");
  s.step();
  return s.col_i64(0);
}

std::optional<SearchDocument> DocStore::get(const std::string& id) const {
  Stmt s(db_, "SELECT id, title, text, meta FROM docs WHERE id = ?");
  s.text(1, id);
  if (!s.step()) return std::nullopt;
  return row_doc(s, 0);
}

std::optional<SearchDocument> DocStore::get_row(int64_t rowid) const {
  Stmt s(db_, "SELECT id, title, text, meta FROM docs WHERE rowid = ?");
  s.i64(1, rowid);
  if (!s.step()) return std::nullopt;
  return row_doc(s, 0);
}

std::pair<std::string, std::string> DocStore::id_title(int64_t rowid) const {
  Stmt s(db_, "SELECT id, title FROM docs WHERE rowid = ?");
  s.i64(1, rowid);
  if (!s.step()) return {};
  return {s.col_text(0), s.col_text(1)};
}

std::vector<float> DocStore::vector(const std::string& id, int64_t dims) const {
  Stmt s(db_, "SELECT vec FROM docs WHERE id = ?");
  s.text(1, id);
  if (!s.step()) return {};
  size_t n = 0;
  const void* p = s.col_blob(0, &n);
  if (n != size_t(dims) * sizeof(float)) fail("search", path_ + ": document '" + id + "' has a vector of the wrong size");
  std::vector<float> v(static_cast<size_t>(dims));
  std::memcpy(v.data(), p, n);
  return v;
}

std::vector<std::string> DocStore::ids() const {
  Stmt s(db_, "SELECT id FROM docs ORDER BY rowid");
  std::vector<std::string> out;
  while (s.step()) out.push_back(s.col_text(0));
  return out;
}

void DocStore::for_each_vector(int64_t dims, const std::function<void(int64_t, const float*)>& fn) const {
  Stmt s(db_, "SELECT rowid, vec FROM docs ORDER BY rowid");
  std::vector<float> v(static_cast<size_t>(dims));
  while (s.step()) {
    size_t n = 0;
    const void* p = s.col_blob(1, &n);
    if (n != v.size() * sizeof(float))
      fail("search", path_ + ": row " + std::to_string(s.col_i64(0)) + " has a vector of the wrong size");
    std::memcpy(v.data(), p, n);
    fn(s.col_i64(0), v.data());
  }
}

std::vector<std::pair<int64_t, double>> DocStore::bm25(const std::string& text, int64_t k,
                                                       const SearchFilter& where) const {
  std::vector<std::pair<int64_t, double>> out;
  const std::string q = fts_query(text);
  if (q.empty() || k <= 0) return out;
  const FilterSql f = filter_sql(where, "d.meta");
  Stmt s(db_, "SELECT fts.rowid, -bm25(fts) FROM fts JOIN docs d ON d.rowid = fts.rowid WHERE fts MATCH ? AND " +
                  f.expr + " ORDER BY bm25(fts), fts.rowid LIMIT ?");
  int i = 1;
  s.text(i++, q);
  for (const auto& p : f.params) s.text(i++, p);
  s.i64(i, k);
  while (s.step()) out.emplace_back(s.col_i64(0), s.col_f64(1));
  return out;
}

std::unordered_set<int64_t> DocStore::filter_rowids(const SearchFilter& where) const {
  const FilterSql f = filter_sql(where, "meta");
  Stmt s(db_, "SELECT rowid FROM docs WHERE " + f.expr);
  int i = 1;
  for (const auto& p : f.params) s.text(i++, p);
  std::unordered_set<int64_t> out;
  while (s.step()) out.insert(s.col_i64(0));
  return out;
}

std::string DocStore::snippet(int64_t rowid, const std::string& query, int64_t tokens, const std::string& open,
                              const std::string& close) const {
  const std::string q = fts_query(query);
  if (!q.empty()) {
    // Column 1: the text (a title is short enough to show whole).
    Stmt s(db_, "SELECT snippet(fts, 1, ?, ?, '…', ?) FROM fts WHERE fts MATCH ? AND rowid = ?");
    s.text(1, open).text(2, close).i64(3, std::min<int64_t>(tokens, 64)).text(4, q).i64(5, rowid);
    if (s.step()) {
      std::string snip = s.col_text(0);
      if (snip.find(open) != std::string::npos) return snip;
    }
  }
  // No query word in the text: its first words.
  Stmt s(db_, "SELECT text FROM docs WHERE rowid = ?");
  s.i64(1, rowid);
  if (!s.step()) return "";
  const std::string text = s.col_text(0);
  std::string out;
  int64_t words = 0;
  bool in_word = false;
  for (char c : text) {
    const bool space = c == ' ' || c == '\n' || c == '\t' || c == '\r';
    if (!space && !in_word && ++words > tokens) {
      out += "…";
      break;
    }
    in_word = !space;
    if (!space) out += c;
    else if (!out.empty() && out.back() != ' ') out += ' ';
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

}  // namespace peft
