// peft mine-negatives: hard negatives from an index for contrastive
// fine-tuning (src/search/negatives.h). Parsing and printing only.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "command.h"
#include "common.h"
#include "core/error.h"
#include "data/beir.h"
#include "io/atomic_file.h"
#include "search/negatives.h"
#include "search/searcher.h"

namespace peft::cli {
namespace {

std::function<int()> setup(CLI::App& app) {
  struct Opts {
    std::string index, queries, qrels, out;
    MineSettings mine;
    CommonOptions common;
  };
  auto o = std::make_shared<Opts>();
  app.add_option("--index", o->index, "the index folder (its model embeds the queries)")->required();
  app.add_option("--queries", o->queries, "queries.jsonl (_id, text)")->required();
  app.add_option("--qrels", o->qrels, "qrels TSV (query-id, corpus-id, score; grade > 0 = positive)")->required();
  app.add_option("--out", o->out, "triplets JSONL: anchor, positive, negative (what peft train reads), their ids and cosines")->required();
  app.add_option("--per-query", o->mine.per_query, "negatives per (query, positive)")->check(kPositive);
  app.add_option("--skip-top", o->mine.skip_top, "ranks skipped before choosing (likely unlabelled positives)")
      ->check(kNonNegative);
  app.add_option("--max-score", o->mine.max_score, "skip candidates whose cosine is above this");
  app.add_option("--margin", o->mine.margin,
                 "skip candidates scoring >= (1 - margin) x the positive's cosine (near-duplicates of it)")
      ->check(CLI::Range(0.0, 0.999));
  app.add_option("--near-duplicate", o->mine.near_duplicate,
                 "skip candidates whose cosine to the positive is at least this (1 = only identical texts)")
      ->check(CLI::Range(0.001, 1.0));
  app.add_option("--depth", o->mine.depth, "candidates looked at per query (0 = enough for the settings)")
      ->check(kNonNegative);
  add_common_options(app, o->common);
  return [o]() -> int {
    apply_common_options(o->common);
    check_file_writable(o->out, "mine-negatives");
    const BeirDocs q = read_beir_queries(o->queries);
    const Qrels qrels = read_qrels(o->qrels);
    std::vector<std::pair<std::string, std::string>> queries;
    for (int64_t i = 0; i < q.size(); ++i) queries.emplace_back(q.ids[size_t(i)], q.texts[size_t(i)]);
    std::map<std::string, std::vector<std::string>> positives;
    for (const auto& [qid, docs] : qrels.judged)
      for (const auto& [did, grade] : docs)
        if (grade > 0) positives[qid].push_back(did);
    auto s = Searcher::open(o->index, SearchIndex::Access::kRead);
    MineStats st;
    const auto triplets = mine_hard_negatives(*s, queries, positives, o->mine, &st);
    std::string body;
    for (const auto& t : triplets)
      body += nlohmann::ordered_json{{"anchor", t.anchor},         {"positive", t.positive},
                                     {"negative", t.negative},     {"query_id", t.query_id},
                                     {"positive_id", t.positive_id}, {"negative_id", t.negative_id},
                                     {"positive_cos", t.positive_score}, {"negative_cos", t.negative_score}}
                  .dump() +
              "\n";
    write_file_atomic(o->out, body);
    std::printf("wrote %lld triplets for %lld queries to %s", (long long)st.triplets, (long long)st.queries, o->out.c_str());
    if (st.skipped_queries) std::printf(" (%lld queries had no positive in the index)", (long long)st.skipped_queries);
    if (st.short_queries)
      std::printf(" (%lld query-positive pairs found fewer than %lld negatives)", (long long)st.short_queries,
                  (long long)o->mine.per_query);
    std::printf("\n");
    return 0;
  };
}

PEFT_COMMAND("mine-negatives", "Hard negatives from an index for contrastive fine-tuning (triplets JSONL)", setup);

}  // namespace
}  // namespace peft::cli
