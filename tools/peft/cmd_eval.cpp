// peft eval: retrieval metrics (nDCG@10, MRR@10, Recall@1/10/100, MAP@100)
// of BM25 or an embedding model on a BEIR-style set, and STS correlations.
// Parsing and printing only: the work is in src/embed (docs/evaluation.md).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "command.h"
#include "common.h"
#include "core/error.h"
#include "data/beir.h"
#include "data/scored_pairs.h"
#include "embed/embedder.h"
#include "embed/model_eval.h"
#include "embed/retrieval_eval.h"
#include "search/index_eval.h"
#include "search/searcher.h"

namespace peft::cli {
namespace {

// What every model evaluation takes.
struct ModelOpts {
  std::string model, adapter, pooling;  // evaluation scores by cosine: normalisation changes nothing
  ModelEvalOptions eval;
};

struct RetrievalOpts {
  ModelOpts m;
  std::string data, split = "test", corpus, queries, qrels;
  bool bm25 = false;
  Bm25Options bm25_opt;
  bool keep_stopwords = false;
  bool keep_identical_ids = false;
  bool json = false;
  // --index: evaluate through a search index (peft index build).
  std::string index, mode = "vector";
  bool exact = false;
};

struct StsOpts {
  ModelOpts m;
  std::string data;
  bool json = false;
};

struct Opts {
  CommonOptions common;
  RetrievalOpts r;
  StsOpts s;
};

void add_model_options(CLI::App& app, ModelOpts& o, bool required) {
  CLI::Option* m = app.add_option("-m,--model", o.model,
                                  "Embedding model: a sentence-transformers or Hugging Face folder, a BERT GGUF, or any "
                                  "Llama-family model (GGUF or folder) as a decoder embedder");
  m->check(CLI::ExistingPath);
  if (required) m->required();
  app.add_option("--adapter", o.adapter, "PEFT adapter folder to apply (unmerged)")->check(CLI::ExistingDirectory);
  app.add_option("--batch-size", o.eval.batch_size, "Texts per forward pass")->check(kPositive)->capture_default_str();
  app.add_option("--max-length", o.eval.max_length, "Truncate texts to N tokens; 0 = the model's limit")
      ->check(kNonNegative)
      ->capture_default_str();
  app.add_option("--dims", o.eval.dims, "Matryoshka: evaluate the first D dimensions; 0 = all")
      ->check(kNonNegative)
      ->capture_default_str();
  app.add_option("--pooling", o.pooling,
                 "Override the pooling: cls, mean or last (default: the adapter's as trained, else the model's)");
}

// Progress on stderr while texts are embedded, at most every 2 s (and at the
// end of each part): "eval: documents 512/1100 texts, 40.1 texts/s, ETA 12s".
void show_progress(bool quiet, ModelEvalOptions& e) {
  if (quiet) return;
  using Clock = std::chrono::steady_clock;
  struct State {
    std::string what;
    Clock::time_point t0, last;
  };
  auto st = std::make_shared<State>();
  const int64_t batch = e.batch_size;
  e.progress = [st, batch](const char* what, int64_t done, int64_t total) {
    const auto now = Clock::now();
    if (st->what != what) st->what = what, st->t0 = st->last = now;
    if (total <= batch || (done < total && now - st->last < std::chrono::seconds(2))) return;
    st->last = now;
    const double s = std::chrono::duration<double>(now - st->t0).count();
    const double rate = s > 0 ? done / s : 0;
    std::fprintf(stderr, "eval: %s %lld/%lld texts, %.1f texts/s, ETA %s\n", what, static_cast<long long>(done),
                 static_cast<long long>(total), rate, format_duration(rate > 0 ? (total - done) / rate : 0).c_str());
  };
}

std::unique_ptr<Embedder> load_embedder(const ModelOpts& o) {
  EmbedderOptions eo;
  eo.adapter = o.adapter;
  eo.pooling = o.pooling;
  eo.max_length = o.eval.max_length;
  return Embedder::load(o.model, eo);
}

BeirSet read_set(const RetrievalOpts& o) {
  const bool files = !o.corpus.empty() || !o.queries.empty() || !o.qrels.empty();
  if (!o.data.empty() && files) fail("eval", "give either --beir DIR or --corpus/--queries/--qrels, not both");
  if (!o.data.empty()) return read_beir_folder(o.data, o.split);
  if (o.corpus.empty() || o.queries.empty() || o.qrels.empty())
    fail("eval", "retrieval needs --beir DIR (a BEIR folder) or all three of --corpus, --queries and --qrels");
  return read_beir_files(o.corpus, o.queries, o.qrels);
}

// JSON number, or null where a metric is undefined.
nlohmann::json num(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

void print_retrieval(const RetrievalMetrics& m, const BeirSet& set, const std::string& method, bool json) {
  if (json) {
    nlohmann::ordered_json j{{"method", method}};
    for (const auto& [k, v] : metric_fields(m)) j[k] = num(v);
    j["queries"] = m.queries;
    j["skipped"] = m.skipped;
    j["documents"] = set.corpus.size();
    std::printf("%s\n", j.dump().c_str());
    return;
  }
  std::printf("%s on %s: %lld queries, %lld documents", method.c_str(), set.qrels_path.c_str(),
              static_cast<long long>(m.queries), static_cast<long long>(set.corpus.size()));
  if (m.skipped > 0)
    std::printf(" (%lld queries skipped: no relevant document in the qrels)", static_cast<long long>(m.skipped));
  std::printf("\n");
  std::printf("  ndcg@10 %.4f  mrr@10 %.4f  recall@1 %.4f  recall@10 %.4f  recall@100 %.4f  map@100 %.4f\n", m.ndcg10,
              m.mrr10, m.recall1, m.recall10, m.recall100, m.map100);
}

void setup_retrieval(CLI::App& app, RetrievalOpts& o) {
  add_model_options(app, o.m, false);
  app.add_option("--query-prompt", o.m.eval.query_prompt,
                 "Prompt name or text for queries; default: the model's \"query\" prompt if it has one");
  app.add_option("--doc-prompt", o.m.eval.doc_prompt,
                 "Prompt name or text for documents; default: the model's \"document\", \"passage\" or \"corpus\" "
                 "prompt if it has one");
  app.add_option("--beir,--data", o.data, "A BEIR folder: corpus.jsonl, queries.jsonl, qrels/SPLIT.tsv (or qrels.tsv)")
      ->check(CLI::ExistingDirectory);
  app.add_option("--split", o.split, "The qrels split in a BEIR folder (qrels/SPLIT.tsv)")->capture_default_str();
  app.add_option("--corpus", o.corpus, "corpus.jsonl: {\"_id\", \"title\", \"text\"} per line")->check(CLI::ExistingFile);
  app.add_option("--queries", o.queries, "queries.jsonl: {\"_id\", \"text\"} per line")->check(CLI::ExistingFile);
  app.add_option("--qrels", o.qrels, "qrels TSV: query-id, corpus-id, integer grade (one header line)")
      ->check(CLI::ExistingFile);
  app.add_flag("--bm25", o.bm25, "Evaluate Okapi BM25 on the same files (no model): the lexical baseline");
  app.add_option("--bm25-k1", o.bm25_opt.k1, "BM25 term-frequency saturation k1 (Anserini's default)")
      ->check(kNonNegative)
      ->capture_default_str();
  app.add_option("--bm25-b", o.bm25_opt.b, "BM25 length normalisation b in [0, 1] (Anserini's default)")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app.add_flag("--bm25-keep-stopwords", o.keep_stopwords, "BM25: keep Lucene's 33 English stopwords");
  app.add_flag("--keep-identical-ids", o.keep_identical_ids,
               "Keep a document whose id equals the query id in its ranking (BEIR drops it by default)");
  app.add_option("--index", o.index,
                 "Evaluate through a search index (peft index build), as peft search ranks: needs --queries and --qrels")
      ->check(CLI::ExistingDirectory);
  app.add_option("--mode", o.mode, "With --index: vector, bm25 (FTS5's) or hybrid");
  app.add_flag("--exact", o.exact, "With --index: vector part by exhaustive scan instead of HNSW");
  app.add_flag("--json", o.json,
               "Print {\"ndcg@10\", \"mrr@10\", \"recall@1\", \"recall@10\", \"recall@100\", \"map@100\", \"queries\", ...}");
}

// --index: the index's own documents, its model for queries.
int run_index_retrieval(const RetrievalOpts& o) {
  if (o.bm25) fail("eval", "give either --index or --bm25, not both");
  if (!o.m.model.empty()) fail("eval", "give either --index (which embeds queries with its own model) or --model, not both");
  if (!o.data.empty() || !o.corpus.empty()) fail("eval", "with --index, the documents are the index's: give --queries and --qrels only");
  if (o.queries.empty() || o.qrels.empty()) fail("eval", "--index needs --queries and --qrels");
  const SearchMode mode = parse_search_mode(o.mode);
  BeirSet set;
  set.queries_path = o.queries;
  set.qrels_path = o.qrels;
  set.queries = read_beir_queries(o.queries);
  set.qrels = read_qrels(o.qrels);
  std::unique_ptr<Searcher> s;
  std::unique_ptr<SearchIndex> idx;
  if (mode == SearchMode::kBm25) idx = SearchIndex::open(o.index);
  else s = Searcher::open(o.index, SearchIndex::Access::kRead);
  const SearchIndex& index = s ? s->index() : *idx;
  set.corpus.ids = index.ids();
  RetrievalRun run = index_run(s.get(), index, set.queries, set.qrels, mode, o.exact);
  RetrievalMetrics m = evaluate_run(set.qrels, std::move(run), !o.keep_identical_ids);
  std::string method = std::string("index ") + search_mode_name(mode) + (o.exact ? " (exact)" : "") + " of " + o.index;
  print_retrieval(m, set, method, o.json);
  return 0;
}

int run_retrieval(RetrievalOpts& o, bool quiet) {
  if (!o.index.empty()) return run_index_retrieval(o);
  if (o.bm25 == !o.m.model.empty()) fail("eval", "retrieval: give --model M (an embedding model) or --bm25, one of the two");
  BeirSet set = read_set(o);
  if (!o.bm25) {
    o.m.eval.ignore_identical_ids = !o.keep_identical_ids;
    show_progress(quiet, o.m.eval);
    std::unique_ptr<Embedder> e = load_embedder(o.m);
    RetrievalMetrics m = evaluate_retrieval(*e, set, o.m.eval);
    print_retrieval(m, set, o.m.model + (o.m.adapter.empty() ? "" : " + " + o.m.adapter), o.json);
    return 0;
  }
  Bm25Options b = o.bm25_opt;
  b.stopwords = !o.keep_stopwords;
  RetrievalMetrics m = evaluate_bm25(set, b, !o.keep_identical_ids);
  char method[96];
  std::snprintf(method, sizeof method, "bm25 (k1 %g, b %g%s)", b.k1, b.b, b.stopwords ? "" : ", stopwords kept");
  print_retrieval(m, set, method, o.json);
  return 0;
}

void setup_sts(CLI::App& app, StsOpts& o) {
  add_model_options(app, o.m, true);
  app.add_option("-d,--data", o.data,
                 "Scored sentence pairs: STS-B's tab-separated file (sts-dev.csv) or JSONL {\"sentence1\", "
                 "\"sentence2\", \"score\"}")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--prompt", o.m.eval.prompt, "Prompt name or text for both sentences; default: the model's default");
  app.add_flag("--json", o.json, "Print {\"spearman\", \"pearson\", \"pairs\"}");
}

int run_sts(StsOpts& o, bool quiet) {
  std::vector<ScoredPair> pairs = read_scored_pairs(o.data);
  show_progress(quiet, o.m.eval);
  std::unique_ptr<Embedder> e = load_embedder(o.m);
  StsMetrics m = evaluate_sts(*e, pairs, o.m.eval);
  if (o.json) {
    nlohmann::ordered_json j;
    for (const auto& [k, v] : metric_fields(m)) j[k] = num(v);
    j["pairs"] = m.pairs;
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf("%s on %s: %lld pairs\n  spearman %.4f  pearson %.4f  (cosine similarity against the gold scores)\n",
                o.m.model.c_str(), o.data.c_str(), static_cast<long long>(m.pairs), m.spearman, m.pearson);
  }
  return 0;
}

std::function<int()> setup(CLI::App& app) {
  auto o = std::make_shared<Opts>();
  app.require_subcommand(1);
  CLI::App* retrieval = app.add_subcommand(
      "retrieval", "nDCG@10, MRR@10, Recall@1/10/100, MAP@100 on a BEIR-style set (docs/evaluation.md)");
  retrieval->option_defaults()->always_capture_default();
  setup_retrieval(*retrieval, o->r);
  add_common_options(*retrieval, o->common);
  CLI::App* sts = app.add_subcommand(
      "sts", "Spearman and Pearson correlation of cosine similarity with gold scores (STS-B or scored-pair JSONL)");
  sts->option_defaults()->always_capture_default();
  setup_sts(*sts, o->s);
  add_common_options(*sts, o->common);
  return [o, retrieval, sts]() {
    apply_common_options(o->common);
    if (retrieval->parsed()) return run_retrieval(o->r, o->common.quiet);
    if (sts->parsed()) return run_sts(o->s, o->common.quiet);
    return 2;
  };
}

PEFT_COMMAND("eval", "Evaluate retrieval (BEIR qrels: nDCG@10, MRR@10, recall, MAP) and STS (Spearman, Pearson)",
             setup);

}  // namespace
}  // namespace peft::cli
