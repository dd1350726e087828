#include "search/index.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <shared_mutex>
#include <unordered_set>

#include "core/error.h"
#include "core/log.h"
#include "io/atomic_file.h"
#include "search/doc_store.h"
#include "search/ef_calibration.h"
#include "search/fusion.h"
#include "search/hnsw_graph.h"

namespace peft {
namespace fs = std::filesystem;

namespace {

constexpr const char* kManifestFile = "manifest.json";
constexpr const char* kDbFile = "docs.sqlite";
constexpr const char* kLockFile = "write.lock";

// The document a stored row belongs to: P for a chunk "P#j" whose metadata
// names P as its parent (search/corpus.h), else the row's own id.
std::string chunk_parent(const SearchDocument& d) {
  const auto it = d.meta.find("parent");
  if (it == d.meta.end() || !it->is_string()) return d.id;
  const std::string p = it->get<std::string>();
  if (d.id.size() <= p.size() + 1 || d.id.compare(0, p.size(), p) != 0 || d.id[p.size()] != '#') return d.id;
  const std::string tail = d.id.substr(p.size() + 1);
  return tail.find_first_not_of("0123456789") == std::string::npos ? p : d.id;
}

std::string graph_file(const std::string& dir, int64_t gen) {
  return (fs::path(dir) / ("hnsw-" + std::to_string(gen) + ".bin")).string();
}

// Test hook for the crash tests (tests/test_search_crash.cpp): with
// PEFT_SEARCH_FAULT=<point>, the process kills itself (SIGKILL, as a power
// cut or `kill -9` would) when a write reaches <point>. Points, in order:
// "graph-saved" (new graph file renamed into place, SQLite not yet touched
// by the commit), "before-commit" (all rows written, transaction open),
// "after-commit" (committed, old graph file not yet removed).
void fault_point(const char* point) {
  const char* want = std::getenv("PEFT_SEARCH_FAULT");
  if (want && std::strcmp(want, point) == 0) ::kill(::getpid(), SIGKILL);
}

}  // namespace

struct SearchIndex::Impl {
  std::string dir;
  Manifest manifest;
  bool writable = false;
  int lock_fd = -1;
  std::unique_ptr<DocStore> store;
  std::unique_ptr<HnswGraph> graph;
  int64_t generation = 0;
  // The calibrated default breadth (ef_search 0): ef > 0, or
  // EfCalibration::kExactScan; 0 = not measured yet. calibrated_live is the
  // live count it was measured at, calibrated_recall the probes' recall.
  int64_t calibrated_ef = 0;
  int64_t calibrated_live = 0;
  double calibrated_recall = 0;
  // Searches share `rw`; writes hold it exclusively. `db` serialises the one
  // SQLite connection between concurrent searches.
  mutable std::shared_mutex rw;
  // glibc's shared_mutex prefers readers: under a steady stream of searches
  // (peft serve under load) a writer waiting for `rw` never got it. A writer
  // holds this turnstile while it waits, and a reader passes through it
  // first, so new readers queue behind a waiting writer.
  mutable std::mutex turnstile;
  std::shared_lock<std::shared_mutex> read_lock() const {
    { std::lock_guard t(turnstile); }
    return std::shared_lock(rw);
  }
  std::unique_lock<std::shared_mutex> write_lock() const {
    std::lock_guard t(turnstile);
    return std::unique_lock(rw);
  }
  mutable std::mutex db;  // the writer connection `store`, one statement at a time

  // Read-only connections for lookups and searches, one per concurrent
  // reader: a SQLite connection serves one thread at a time, so on the one
  // `store` connection the BM25 queries of concurrent requests ran one after
  // another. A borrowed connection goes back to the pool when its Reader
  // ends. Readers hold `rw` shared, so they never run beside this process's
  // own writes, and SQLite's file locks keep other processes' writes apart.
  mutable std::mutex pool_mu;
  mutable std::vector<std::unique_ptr<DocStore>> pool;
  struct Reader {
    const Impl* owner;
    std::unique_ptr<DocStore> conn;
    Reader(const Impl* o, std::unique_ptr<DocStore> c) : owner(o), conn(std::move(c)) {}
    Reader(const Reader&) = delete;
    Reader& operator=(const Reader&) = delete;
    ~Reader() {
      std::lock_guard g(owner->pool_mu);
      owner->pool.push_back(std::move(conn));
    }
    DocStore* operator->() const { return conn.get(); }
  };
  Reader reader() const {
    {
      std::lock_guard g(pool_mu);
      if (!pool.empty()) {
        auto c = std::move(pool.back());
        pool.pop_back();
        return Reader{this, std::move(c)};
      }
    }
    return Reader{this, DocStore::open((fs::path(dir) / kDbFile).string(), false, false)};
  }

  ~Impl() {
    if (lock_fd >= 0) ::close(lock_fd);  // releases the flock
  }

  void take_write_lock() {
    const std::string p = (fs::path(dir) / kLockFile).string();
    lock_fd = ::open(p.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock_fd < 0) fail("search", "cannot write '" + dir + "': " + std::strerror(errno));
    if (::flock(lock_fd, LOCK_EX | LOCK_NB) != 0)
      fail("search", dir + ": the index is locked by another writer (peft index build/add/delete or peft serve)");
  }

  // Loads the graph of the committed generation; rebuilds it from the stored
  // vectors when its file is missing or does not match the documents.
  void load_graph() {
    const std::string path = graph_file(dir, generation);
    const int64_t docs = store->count();
    std::string why;
    if (fs::exists(path)) {
      try {
        graph = HnswGraph::load(path, manifest.dims);
        if (graph->live() != docs)
          why = "holds " + std::to_string(graph->live()) + " vectors for " + std::to_string(docs) + " documents";
        if (!why.empty()) why = "[search] " + path + " " + why;
      } catch (const InputError& e) {
        why = e.what();
      }
    } else {
      why = "[search] " + path + " is missing";
    }
    if (why.empty()) return;
    log_warn(why + "; rebuilding the graph from docs.sqlite");
    graph = build_graph(manifest.hnsw_m, manifest.ef_construction);
    if (writable) graph->save(path);
  }

  // Erases document `id` from the store and the graph; 1 if it was there.
  int64_t erase_one(const std::string& id) {
    if (auto old = store->erase(id)) {
      graph->mark_deleted(uint64_t(*old));
      return 1;
    }
    return 0;
  }
  // Erases `id` and every chunk of it; how many rows went.
  int64_t erase_document(const std::string& id) {
    int64_t n = erase_one(id);
    for (const auto& c : store->chunk_ids(id)) n += erase_one(c);
    return n;
  }

  // The breadth a query without its own ef uses (> 0), or kExactScan.
  int64_t default_ef() const {
    if (manifest.ef_search > 0) return manifest.ef_search;
    return calibrated_ef != 0 ? calibrated_ef : EfCalibration::kExactScan;
  }

  // Measures the default breadth again when it has never been measured or
  // the live count moved by more than a quarter since (one document added
  // through peft serve must not cost a calibration).
  void recalibrate_if_due(bool force) {
    if (manifest.ef_search > 0) return;
    const int64_t live = graph->live();
    const bool moved = live * 4 > calibrated_live * 5 || live * 5 < calibrated_live * 4;
    if (!force && calibrated_ef != 0 && !moved) return;
    const EfCalibration c = calibrate_ef(*graph, manifest.recall_target);
    calibrated_ef = c.ef;
    calibrated_live = c.live;
    calibrated_recall = c.recall;
  }

  // "ef live recall" in the meta table, committed with the generation.
  void store_calibration() {
    if (manifest.ef_search > 0 || calibrated_ef == 0) return;
    store->set_meta("default_ef", std::to_string(calibrated_ef) + " " + std::to_string(calibrated_live) + " " +
                                      std::to_string(calibrated_recall));
  }

  void load_calibration() {
    const std::string v = store->meta("default_ef", "");
    long long ef = 0, live = 0;
    double recall = 0;
    if (!v.empty() && std::sscanf(v.c_str(), "%lld %lld %lf", &ef, &live, &recall) == 3 &&
        (ef > 0 || ef == EfCalibration::kExactScan)) {
      calibrated_ef = ef;
      calibrated_live = live;
      calibrated_recall = recall;
    }
  }

  std::unique_ptr<HnswGraph> build_graph(int64_t m, int64_t efc) const {
    const int64_t n = store->count();
    auto g = std::make_unique<HnswGraph>(manifest.dims, m, efc, std::max<int64_t>(n, 1));
    std::vector<float> rows;
    std::vector<uint64_t> labels;
    rows.reserve(size_t(n * manifest.dims));
    labels.reserve(size_t(n));
    store->for_each_vector(manifest.dims, [&](int64_t rowid, const float* v) {
      rows.insert(rows.end(), v, v + manifest.dims);
      labels.push_back(uint64_t(rowid));
    });
    g->add(rows.data(), labels.data(), int64_t(labels.size()));
    return g;
  }

  // Removes graph files of other generations and temp files that a crashed
  // writer left (only a writer does this, holding the lock).
  void clean_stale_files() const {
    const std::string keep = fs::path(graph_file(dir, generation)).filename().string();
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      const std::string name = e.path().filename().string();
      const bool graph_file_name = name.rfind("hnsw-", 0) == 0;
      const bool tmp = name.size() > 4 && name.compare(name.size() - 4, 4, ".tmp") == 0;
      if ((graph_file_name && name != keep) || tmp) fs::remove(e.path(), ec);
    }
  }

  void require_writable() const {
    if (!writable) fail("search", dir + ": opened read-only");
  }

  // Runs `write` (SQLite statements and in-memory graph changes) as one new
  // generation: the new graph is saved before the commit; on any failure
  // the transaction rolls back and the graph is reloaded from the committed
  // generation's file, so memory and disk agree again.
  template <typename F>
  void commit_generation(F&& write, bool recalibrate = false) {
    const int64_t next = generation + 1;
    const std::string next_path = graph_file(dir, next);
    const int64_t old_ef = calibrated_ef, old_live = calibrated_live;
    const double old_recall = calibrated_recall;
    store->begin();
    try {
      write();
      recalibrate_if_due(recalibrate);
      store_calibration();
      graph->save(next_path);
      fault_point("graph-saved");
      store->set_meta("generation", std::to_string(next));
      fault_point("before-commit");
      store->commit();
    } catch (...) {
      store->rollback();
      calibrated_ef = old_ef;
      calibrated_live = old_live;
      calibrated_recall = old_recall;
      std::error_code ec;
      fs::remove(next_path, ec);
      try {
        load_graph();
      } catch (...) {
      }
      throw;
    }
    fault_point("after-commit");
    std::error_code ec;
    fs::remove(graph_file(dir, generation), ec);
    generation = next;
  }
};

SearchIndex::SearchIndex(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SearchIndex::~SearchIndex() = default;

std::unique_ptr<SearchIndex> SearchIndex::create(const std::string& dir, const Manifest& manifest) {
  manifest.check(dir);
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    if (!fs::is_directory(dir, ec)) fail("search", dir + ": exists and is not a folder");
    if (!fs::is_empty(dir, ec)) fail("search", dir + ": exists and is not empty (open it, or pick a new folder)");
  }
  fs::create_directories(dir, ec);
  if (ec) fail("search", "cannot create '" + dir + "': " + ec.message());
  auto impl = std::make_unique<Impl>();
  impl->dir = dir;
  impl->manifest = manifest;
  impl->writable = true;
  impl->take_write_lock();
  // The manifest is written last: a folder without one is not an index, so
  // a create() cut short leaves nothing that open() would take for one.
  impl->store = DocStore::open((fs::path(dir) / kDbFile).string(), true, true);
  impl->graph = std::make_unique<HnswGraph>(manifest.dims, manifest.hnsw_m, manifest.ef_construction);
  impl->graph->save(graph_file(dir, 0));
  write_file_atomic((fs::path(dir) / kManifestFile).string(), manifest.to_json().dump(2) + "\n");
  return std::unique_ptr<SearchIndex>(new SearchIndex(std::move(impl)));
}

std::unique_ptr<SearchIndex> SearchIndex::open(const std::string& dir, Access access) {
  const fs::path mpath = fs::path(dir) / kManifestFile;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) fail("search", dir + ": no such index folder");
  if (!fs::exists(mpath, ec)) fail("search", dir + ": not an index (no manifest.json)");
  auto impl = std::make_unique<Impl>();
  impl->dir = dir;
  impl->writable = access == Access::kWrite;
  const auto j = nlohmann::json::parse(read_file_bytes(mpath.string()), nullptr, false);
  if (j.is_discarded()) fail("search", mpath.string() + ": not valid JSON");
  impl->manifest = Manifest::from_json(j, mpath.string());
  if (impl->writable) impl->take_write_lock();
  const std::string db = (fs::path(dir) / kDbFile).string();
  if (!fs::exists(db, ec)) fail("search", dir + ": not an index (no docs.sqlite)");
  impl->store = DocStore::open(db, false, impl->writable);
  // Read the generation and load its graph inside one read transaction: a
  // writer in another process cannot commit (and delete this generation's
  // graph file) until it ends.
  impl->store->read_transaction([&] {
    impl->generation = std::stoll(impl->store->meta("generation", "0"));
    impl->load_graph();
    impl->load_calibration();
  });
  // An index written before the calibrated default (or by a build cut short
  // before its first commit) is measured now, in memory.
  impl->recalibrate_if_due(false);
  if (impl->writable) impl->clean_stale_files();
  return std::unique_ptr<SearchIndex>(new SearchIndex(std::move(impl)));
}

const Manifest& SearchIndex::manifest() const { return impl_->manifest; }
const std::string& SearchIndex::dir() const { return impl_->dir; }

int64_t SearchIndex::count() const {
  const auto r = impl_->read_lock();
  const auto s = impl_->reader();
  return s->count();
}

SearchIndexInfo SearchIndex::info() const {
  const auto r = impl_->read_lock();
  SearchIndexInfo i;
  i.dir = impl_->dir;
  i.manifest = impl_->manifest;
  i.documents = impl_->reader()->count();
  i.graph_elements = impl_->graph->elements();
  i.graph_deleted = impl_->graph->deleted();
  i.generation = impl_->generation;
  i.default_ef = impl_->default_ef();
  i.calibrated_recall = impl_->manifest.ef_search > 0 ? 0 : impl_->calibrated_recall;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(impl_->dir, ec))
    if (e.is_regular_file(ec)) i.disk_bytes += int64_t(e.file_size(ec));
  return i;
}

nlohmann::json SearchIndexInfo::to_json() const {
  return {{"dir", dir},
          {"documents", documents},
          {"graph_elements", graph_elements},
          {"graph_deleted", graph_deleted},
          {"generation", generation},
          {"default_ef", default_ef},
          {"calibrated_recall", calibrated_recall},
          {"disk_bytes", disk_bytes},
          {"manifest", manifest.to_json()}};
}

void SearchIndex::add(const std::vector<SearchDocument>& docs, const float* vectors) {
  Impl& m = *impl_;
  m.require_writable();
  const int64_t dims = m.manifest.dims;
  std::vector<float> rows(vectors, vectors + docs.size() * size_t(dims));
  std::unordered_set<std::string> seen;
  for (size_t i = 0; i < docs.size(); ++i) {
    if (docs[i].id.empty()) fail("search", "document " + std::to_string(i + 1) + " has an empty id");
    if (!seen.insert(docs[i].id).second) fail("search", "document id '" + docs[i].id + "' appears twice in one add");
    if (!docs[i].meta.is_object()) fail("search", "document '" + docs[i].id + "': metadata must be a JSON object");
    if (!normalize_vector(rows.data() + i * size_t(dims), dims))
      fail("search", "document '" + docs[i].id + "': its vector is zero or not finite");
  }
  if (docs.empty()) return;
  const auto w = m.write_lock();
  std::lock_guard d(m.db);
  m.commit_generation([&] {
    // In a chunked index a document is stored as its chunks: adding it again
    // replaces all of them, also those its new text no longer reaches.
    if (m.manifest.chunk_tokens > 0) {
      std::unordered_set<std::string> parents;
      for (const auto& doc : docs) parents.insert(chunk_parent(doc));
      for (const auto& p : parents) m.erase_document(p);
    }
    std::vector<uint64_t> labels;
    labels.reserve(docs.size());
    for (size_t i = 0; i < docs.size(); ++i) {
      if (auto old = m.store->erase(docs[i].id)) m.graph->mark_deleted(uint64_t(*old));
      labels.push_back(uint64_t(m.store->insert(docs[i], rows.data() + i * size_t(dims), dims)));
    }
    m.graph->add(rows.data(), labels.data(), int64_t(labels.size()));
  });
}

int64_t SearchIndex::remove(const std::vector<std::string>& ids) {
  Impl& m = *impl_;
  m.require_writable();
  const auto w = m.write_lock();
  std::lock_guard d(m.db);
  int64_t removed = 0;
  bool any = false;
  const bool chunked = m.manifest.chunk_tokens > 0;
  for (const auto& id : ids)
    if (m.store->rowid_of(id) || (chunked && !m.store->chunk_ids(id).empty())) any = true;
  if (!any) return 0;
  m.commit_generation([&] {
    std::unordered_set<std::string> done;
    for (const auto& id : ids) {
      if (!done.insert(id).second) continue;
      // A chunked document's id names all its chunks.
      removed += chunked ? m.erase_document(id) : m.erase_one(id);
    }
  });
  return removed;
}

void SearchIndex::rebuild(int64_t hnsw_m, int64_t ef_construction) {
  Impl& m = *impl_;
  m.require_writable();
  const auto w = m.write_lock();
  std::lock_guard d(m.db);
  Manifest next = m.manifest;
  if (hnsw_m > 0) next.hnsw_m = hnsw_m;
  if (ef_construction > 0) next.ef_construction = ef_construction;
  next.check(m.dir);
  m.commit_generation([&] { m.graph = m.build_graph(next.hnsw_m, next.ef_construction); }, true);
  if (next.hnsw_m != m.manifest.hnsw_m || next.ef_construction != m.manifest.ef_construction) {
    m.manifest = next;
    write_file_atomic((fs::path(m.dir) / kManifestFile).string(), next.to_json().dump(2) + "\n");
  }
}

bool SearchIndex::contains(const std::string& id) const {
  const auto r = impl_->read_lock();
  const auto s = impl_->reader();
  return s->rowid_of(id).has_value();
}

std::optional<SearchDocument> SearchIndex::get(const std::string& id) const {
  const auto r = impl_->read_lock();
  const auto s = impl_->reader();
  return s->get(id);
}

std::vector<std::string> SearchIndex::ids() const {
  const auto r = impl_->read_lock();
  const auto s = impl_->reader();
  return s->ids();
}

std::vector<float> SearchIndex::vector(const std::string& id) const {
  const auto r = impl_->read_lock();
  const auto s = impl_->reader();
  return s->vector(id, impl_->manifest.dims);
}

std::vector<SearchHit> SearchIndex::search(const SearchRequest& req) const {
  const Impl& m = *impl_;
  const int64_t dims = m.manifest.dims;
  if (req.k < 1) fail("search", "k must be >= 1, got " + std::to_string(req.k));
  const bool want_vec = req.mode != SearchMode::kBm25;
  const bool want_bm25 = req.mode != SearchMode::kVector;
  std::vector<float> q;
  if (want_vec) {
    if (int64_t(req.vector.size()) != dims)
      fail("search", "the query vector has " + std::to_string(req.vector.size()) + " values, the index " +
                         std::to_string(dims));
    q = req.vector;
    if (!normalize_vector(q.data(), dims)) fail("search", "the query vector is zero or not finite");
  }
  const int64_t depth = req.mode == SearchMode::kHybrid ? (req.fusion_depth > 0 ? req.fusion_depth : std::max<int64_t>(100, req.k))
                                                        : req.k;
  // A query without its own breadth uses the index's default, which may be
  // the exact scan (search/ef_calibration.h).
  const int64_t ef = req.ef > 0 ? req.ef : m.default_ef();
  const bool exact = req.exact || ef == EfCalibration::kExactScan;

  const auto r = m.read_lock();
  const auto s = m.reader();
  std::vector<ScoredLabel> vec;
  std::vector<std::pair<int64_t, double>> bm;
  if (want_vec) {
    if (req.where.empty()) {
      vec = exact ? m.graph->exact(q.data(), depth) : m.graph->search(q.data(), depth, ef);
    } else {
      std::unordered_set<int64_t> allowed;
      allowed = s->filter_rowids(req.where);
      auto allow = [&](uint64_t label) { return allowed.count(int64_t(label)) > 0; };
      // A selective filter is cheaper to scan than to search around.
      if (exact || int64_t(allowed.size()) * 8 <= m.graph->live())
        vec = m.graph->exact(q.data(), depth, allow);
      else
        vec = m.graph->search_filtered(q.data(), depth, ef, allow);
    }
  }
  if (want_bm25) bm = s->bm25(req.text, depth, req.where);

  std::vector<SearchHit> hits;
  auto finish = [&](SearchHit& h, int64_t rowid) {
    std::tie(h.id, h.title) = s->id_title(rowid);
    if (req.snippet_tokens > 0)
      h.snippet = s->snippet(rowid, req.text, req.snippet_tokens, req.snippet_open, req.snippet_close);
  };
  if (req.mode == SearchMode::kVector) {
    for (size_t i = 0; i < vec.size() && int64_t(i) < req.k; ++i) {
      SearchHit h;
      h.score = h.vector_score = vec[i].score;
      h.vector_rank = int64_t(i) + 1;
      finish(h, int64_t(vec[i].label));
      hits.push_back(std::move(h));
    }
  } else if (req.mode == SearchMode::kBm25) {
    for (size_t i = 0; i < bm.size() && int64_t(i) < req.k; ++i) {
      SearchHit h;
      h.score = h.bm25_score = bm[i].second;
      h.bm25_rank = int64_t(i) + 1;
      finish(h, bm[i].first);
      hits.push_back(std::move(h));
    }
  } else {
    std::vector<int64_t> a, b;
    for (const auto& s : vec) a.push_back(int64_t(s.label));
    for (const auto& s : bm) b.push_back(s.first);
    for (const auto& f : rrf_fuse(a, b, req.k)) {
      SearchHit h;
      h.score = f.score;
      h.vector_rank = f.rank_a;
      h.bm25_rank = f.rank_b;
      if (f.rank_a) h.vector_score = vec[size_t(f.rank_a - 1)].score;
      if (f.rank_b) h.bm25_score = bm[size_t(f.rank_b - 1)].second;
      finish(h, f.key);
      hits.push_back(std::move(h));
    }
  }
  return hits;
}

}  // namespace peft
