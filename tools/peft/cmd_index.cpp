// peft index: build, grow, shrink and inspect a search index folder
// (src/search/index.h, docs/search.md). Parsing and printing only.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <unordered_set>

#include "command.h"
#include "common.h"
#include "core/error.h"
#include "core/log.h"
#include "dist/communicator.h"
#include "search/corpus.h"
#include "search/index.h"
#include "search/searcher.h"

namespace peft::cli {
namespace {

// "embedding 512/1100 documents (45.1/s, ETA 13s)": redrawn in place on a
// terminal (at most 5 times a second), one line per 10% otherwise.
class Progress {
 public:
  Progress(std::string what, int64_t total) : what_(std::move(what)), total_(total) {}
  void update(int64_t done) {
    const double t = seconds();
    const bool tty = stderr_is_tty();
    const int64_t decile = total_ ? done * 10 / total_ : 10;
    if (tty ? (t - last_ < 0.2 && done < total_) : decile == last_decile_) return;
    last_ = t;
    last_decile_ = decile;
    const double rate = t > 0 ? double(done) / t : 0;
    const double eta = rate > 0 ? double(total_ - done) / rate : 0;
    std::fprintf(stderr, "%s%s %lld/%lld (%.1f/s, ETA %s)%s", tty ? "\r" : "", what_.c_str(), (long long)done,
                 (long long)total_, rate, format_duration(eta).c_str(), tty ? "   " : "\n");
    if (tty && done >= total_) std::fprintf(stderr, "\n");
  }
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  std::string what_;
  int64_t total_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  double last_ = -1;
  int64_t last_decile_ = -1;
};

std::vector<SearchDocument> read_and_chunk(const std::string& corpus, Searcher& s) {
  auto docs = read_corpus(corpus);
  const Manifest& m = s.manifest();
  if (m.chunk_tokens > 0)
    docs = chunk_documents(docs, m.chunk_tokens, m.chunk_overlap, [&](const std::string& w) { return s.count_tokens(w); });
  return docs;
}

// Embeds and adds `docs` in commits of `commit_every` (each one atomic, so
// an interrupted build keeps what it committed), with progress.
// Under mpirun every rank runs this with the same documents: the ranks
// share each commit's embedding batches and rank 0 alone (which holds the
// index) adds the rows it gathered and reports progress.
void add_in_commits(Searcher& s, const std::vector<SearchDocument>& docs, int64_t commit_every, bool quiet,
                    Communicator& comm) {
  Progress p("embedding", int64_t(docs.size()));
  for (size_t start = 0; start < docs.size(); start += size_t(commit_every)) {
    const size_t end = std::min(docs.size(), start + size_t(commit_every));
    std::vector<SearchDocument> part(docs.begin() + long(start), docs.begin() + long(end));
    auto vecs = s.embed_documents(
        part,
        [&](int64_t done, int64_t) {
          if (!quiet && comm.is_root()) p.update(int64_t(start) + done);
        },
        &comm);
    if (comm.is_root()) s.index().add(part, vecs.data());
  }
}

void print_info(const SearchIndexInfo& i, bool json) {
  if (json) {
    std::printf("%s\n", i.to_json().dump(2).c_str());
    return;
  }
  const Manifest& m = i.manifest;
  std::printf("index:       %s\n", i.dir.c_str());
  std::printf("documents:   %lld\n", (long long)i.documents);
  std::printf("model:       %s (%s, id %s)\n", m.model.c_str(), m.embedder.c_str(), m.model_id.substr(0, 12).c_str());
  std::printf("adapter:     %s\n", m.adapters.empty() ? "none" : (m.adapters[0] + " (id " + m.adapter_id.substr(0, 12) + ")").c_str());
  std::printf("embedding:   %lld dims, %s pooling, %s, max tokens %s\n", (long long)m.dims, m.pooling.c_str(),
              m.normalize ? "normalised" : "not normalised",
              m.max_tokens ? std::to_string(m.max_tokens).c_str() : "model's");
  std::printf("prompts:     query \"%s\", document \"%s\"\n", m.query_prompt.c_str(), m.document_prompt.c_str());
  if (m.chunk_tokens)
    std::printf("chunks:      %lld tokens, overlap %lld\n", (long long)m.chunk_tokens, (long long)m.chunk_overlap);
  std::printf("hnsw:        M %lld, ef_construction %lld; %lld slots, %lld deleted\n", (long long)m.hnsw_m,
              (long long)m.ef_construction, (long long)i.graph_elements, (long long)i.graph_deleted);
  const std::string breadth = i.default_ef > 0 ? "ef " + std::to_string(i.default_ef) : std::string("exact scan");
  if (m.ef_search > 0)
    std::printf("search:      %s (fixed by --ef-search)\n", breadth.c_str());
  else
    std::printf("search:      %s (measured: recall@10 %.3f on probe queries, target %.2f)\n", breadth.c_str(),
                i.calibrated_recall, m.recall_target);
  std::printf("generation:  %lld\n", (long long)i.generation);
  std::printf("disk:        %.1f MB\n", double(i.disk_bytes) / 1e6);
}

std::function<int()> setup(CLI::App& app) {
  app.require_subcommand(1);
  app.fallthrough();  // --threads and --quiet may follow the action
  auto common = std::make_shared<CommonOptions>();
  add_common_options(app, *common);

  struct BuildOpts {
    EmbeddingSettings emb;
    std::string corpus, out;
    int64_t chunk_tokens = 0, chunk_overlap = 0, m = 16, efc = 100, ef = 0, commit_every = 512;
    double recall_target = 0.95;
  };
  auto b = std::make_shared<BuildOpts>();
  CLI::App* build = app.add_subcommand("build", "Embed a corpus into a new index folder (resumes an interrupted build)");
  build->add_option("--model", b->emb.model, std::string("embedding model: ") + kModelInput)->required();
  build->add_option("--adapter", b->emb.adapter, "a PEFT adapter folder for the model");
  build->add_option("--corpus", b->corpus, "JSONL (_id/id, title, text, other fields = metadata) or a folder of .txt/.md files")
      ->required();
  build->add_option("--out", b->out, "the index folder to create (or to resume)")->required();
  build->add_option("--chunk-tokens", b->chunk_tokens, "split documents longer than this many tokens (0 = never)")
      ->check(kNonNegative);
  build->add_option("--chunk-overlap", b->chunk_overlap, "tokens repeated between consecutive chunks")->check(kNonNegative);
  build->add_option("--query-prompt", b->emb.query_prompt, "prompt name or text for queries (default: the model's)");
  build->add_option("--doc-prompt", b->emb.document_prompt, "prompt name or text for documents (default: the model's)");
  build->add_option("--dims", b->emb.dims, "keep the first N embedding dimensions (0 = all)")->check(kNonNegative);
  build->add_option("--max-tokens", b->emb.max_tokens, "truncate texts to N tokens (0 = the model's limit)")
      ->check(kNonNegative);
  build->add_option("--hnsw-m", b->m, "HNSW links per node")->check(at_least(2));
  build->add_option("--ef-construction", b->efc, "HNSW build breadth")->check(kPositive);
  build->add_option("--ef-search", b->ef,
                    "HNSW search breadth used by default (0 = measured on the index's own graph to reach --recall-target)")
      ->check(kNonNegative);
  build->add_option("--recall-target", b->recall_target,
                    "with --ef-search 0: recall@10 against the exact scan that the default breadth must reach")
      ->check(CLI::Range(0.01, 1.0));
  build->add_option("--commit-every", b->commit_every, "documents per atomic commit")->check(kPositive);

  auto add_corpus = std::make_shared<std::string>();
  auto dir = std::make_shared<std::string>();
  CLI::App* add = app.add_subcommand("add", "Embed and add (or replace) documents, all or nothing");
  add->add_option("dir", *dir, "the index folder")->required();
  add->add_option("--corpus", *add_corpus, "JSONL or a folder of .txt/.md files")->required();

  auto ids = std::make_shared<std::vector<std::string>>();
  CLI::App* del = app.add_subcommand("delete", "Remove documents by id, all or nothing");
  del->add_option("dir", *dir, "the index folder")->required();
  del->add_option("--id", *ids, "document ids")->required();

  auto json = std::make_shared<bool>(false);
  CLI::App* info = app.add_subcommand("info", "What an index holds and how it was made");
  info->add_option("dir", *dir, "the index folder")->required();
  info->add_flag("--json", *json, "print JSON");

  auto rb = std::make_shared<std::pair<int64_t, int64_t>>(0, 0);
  CLI::App* rebuild = app.add_subcommand("rebuild", "Build the HNSW graph afresh from the stored vectors (drops deleted slots)");
  rebuild->add_option("dir", *dir, "the index folder")->required();
  rebuild->add_option("--hnsw-m", rb->first, "new HNSW links per node (0 = keep)")->check(kNonNegative);
  rebuild->add_option("--ef-construction", rb->second, "new HNSW build breadth (0 = keep)")->check(kNonNegative);

  return [=]() -> int {
    apply_common_options(*common);
    if (build->parsed()) {
      if (b->chunk_tokens == 0 && b->chunk_overlap > 0) fail("index", "--chunk-overlap needs --chunk-tokens");
      if (b->chunk_tokens > 0 && b->chunk_overlap >= b->chunk_tokens)
        fail("index", "--chunk-overlap (" + std::to_string(b->chunk_overlap) + ") must be below --chunk-tokens (" +
                          std::to_string(b->chunk_tokens) + ")");
      auto docs_probe = read_corpus(b->corpus);  // bad input fails before the model loads
      auto s = Searcher::for_build(b->emb);
      Manifest m = s->make_manifest();
      m.chunk_tokens = b->chunk_tokens;
      m.chunk_overlap = b->chunk_overlap;
      m.hnsw_m = b->m;
      m.ef_construction = b->efc;
      m.ef_search = b->ef;
      m.recall_target = b->recall_target;
      // Under mpirun (issue 12) every rank reads and chunks the corpus and
      // loads the model; rank 0 alone creates (or resumes) and writes the
      // index, and tells the others which documents it still needs.
      Communicator& comm = world();
      if (comm.is_root()) s->create_or_resume(b->out, m);
      auto docs = docs_probe;
      if (m.chunk_tokens > 0)
        docs = chunk_documents(docs, m.chunk_tokens, m.chunk_overlap, [&](const std::string& w) { return s->count_tokens(w); });
      std::vector<uint8_t> need(docs.size(), 1);
      size_t have = 0;
      if (comm.is_root()) {
        const auto have_ids = s->index().ids();
        const std::unordered_set<std::string> stored(have_ids.begin(), have_ids.end());
        for (size_t i = 0; i < docs.size(); ++i)
          if (stored.count(docs[i].id)) need[i] = 0, ++have;
      }
      if (comm.size() > 1 && !need.empty()) comm.broadcast(need.data(), int64_t(need.size()));
      std::vector<SearchDocument> todo;
      for (size_t i = 0; i < docs.size(); ++i)
        if (need[i]) todo.push_back(std::move(docs[i]));
      if (have)
        log_info("resuming " + b->out + ": " + std::to_string(have) + " of " + std::to_string(docs.size()) +
                 " documents already indexed");
      Progress clock("", 0);
      add_in_commits(*s, todo, b->commit_every, common->quiet, comm);
      if (!comm.is_root()) return 0;
      std::printf("indexed %zu documents into %s (%zu new) in %s\n", docs.size(), b->out.c_str(), todo.size(),
                  format_duration(clock.seconds()).c_str());
      return 0;
    }
    if (add->parsed()) {
      // Under mpirun the ranks share the embedding; rank 0 alone writes
      // (the others open the index read-only, for its model and manifest).
      Communicator& comm = world();
      auto s = Searcher::open(*dir, comm.is_root() ? SearchIndex::Access::kWrite : SearchIndex::Access::kRead);
      auto docs = read_and_chunk(*add_corpus, *s);
      Progress p("embedding", int64_t(docs.size()));
      auto vecs = s->embed_documents(
          docs,
          [&](int64_t done, int64_t) {
            if (!common->quiet && comm.is_root()) p.update(done);
          },
          &comm);
      if (!comm.is_root()) return 0;
      const int64_t before = s->index().count();
      s->index().add(docs, vecs.data());
      std::printf("added %zu documents to %s (%lld replaced), %lld in all\n", docs.size(), dir->c_str(),
                  (long long)(before + int64_t(docs.size()) - s->index().count()), (long long)s->index().count());
      return 0;
    }
    if (del->parsed()) {
      auto idx = SearchIndex::open(*dir, SearchIndex::Access::kWrite);
      const int64_t n = idx->remove(*ids);
      std::printf("removed %lld of %zu ids from %s, %lld left\n", (long long)n, ids->size(), dir->c_str(),
                  (long long)idx->count());
      return 0;
    }
    if (info->parsed()) {
      print_info(SearchIndex::open(*dir)->info(), *json);
      return 0;
    }
    if (rebuild->parsed()) {
      auto idx = SearchIndex::open(*dir, SearchIndex::Access::kWrite);
      Progress clock("", 0);
      idx->rebuild(rb->first, rb->second);
      std::printf("rebuilt the graph of %s: %lld vectors in %s\n", dir->c_str(), (long long)idx->count(),
                  format_duration(clock.seconds()).c_str());
      return 0;
    }
    return 2;
  };
}

PEFT_COMMAND("index", "Build and maintain a search index: build, add, delete, info, rebuild", setup);

}  // namespace
}  // namespace peft::cli
