// Readers for evaluation data: BEIR corpus/queries/qrels (graded, header,
// TREC's four columns, unknown ids), STS-B's tab-separated files with their
// quirks, and scored-pair JSONL; each bad input is one "[data] FILE:LINE:"
// error. The real files in ../shared are read too.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/error.h"
#include "data/beir.h"
#include "data/scored_pairs.h"
#include "test_util.h"

using namespace peft;
using peft::test::shared_path;
using peft::test::temp_dir;
using peft::test::write_file;

namespace {

// The message of the InputError `f` throws, or "" when it throws none.
template <typename F>
std::string error_of(F f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(BeirData, CorpusQueriesAndJoinedText) {
  std::string d = temp_dir("beir");
  write_file(d + "/corpus.jsonl",
             "{\"_id\": \"d1\", \"title\": \"Cats\", \"text\": \"purr\"}\n"
             "\n"
             "{\"_id\": 7, \"text\": \"seven\"}\n"
             "{\"_id\": \"d3\", \"title\": null, \"text\": \"\"}\n");
  BeirDocs c = read_beir_corpus(d + "/corpus.jsonl");
  ASSERT_EQ(c.size(), 3);
  EXPECT_EQ(c.ids[1], "7");  // an integer id is its decimal text
  EXPECT_EQ(c.index.at("d3"), 2);
  EXPECT_EQ(c.joined(0), "Cats purr");
  EXPECT_EQ(c.joined(1), "seven");
  EXPECT_EQ(c.joined(2), "");

  write_file(d + "/bad.jsonl", "{\"_id\": \"a\", \"text\": \"x\"}\n{\"_id\": \"a\", \"text\": \"y\"}\n");
  EXPECT_EQ(error_of([&] { read_beir_corpus(d + "/bad.jsonl"); }),
            "[data] " + d + "/bad.jsonl:2: duplicate \"_id\" 'a' (first at line 1)");
  write_file(d + "/bad.jsonl", "{\"_id\": \"a\", \"text\": \"x\"}\n{\"_id\": \"b\", \"title\": \"t\"}\n");
  EXPECT_EQ(error_of([&] { read_beir_corpus(d + "/bad.jsonl"); }),
            "[data] " + d + "/bad.jsonl:2: record has no \"text\" field");
  write_file(d + "/bad.jsonl", "{\"text\": \"x\"}\n");
  EXPECT_EQ(error_of([&] { read_beir_queries(d + "/bad.jsonl"); }),
            "[data] " + d + "/bad.jsonl:1: record has no \"_id\" field");
}

TEST(BeirData, QrelsGradedHeaderAndTrecForm) {
  Qrels q = parse_qrels(
      "query-id\tcorpus-id\tscore\n"
      "q1\td1\t2\r\n"
      "q1\td2\t0\n"
      "q2\td1\t1\n"
      "q1\td1\t2\n"  // the same judgment again: harmless
      "\n",
      "q.tsv");
  ASSERT_EQ(q.rows.size(), 3u);
  EXPECT_EQ(q.judged.at("q1").at("d1"), 2);
  EXPECT_EQ(q.judged.at("q1").at("d2"), 0);
  EXPECT_EQ(q.query_order, (std::vector<std::string>{"q1", "q2"}));
  EXPECT_TRUE(q.has_relevant("q1"));
  EXPECT_FALSE(q.has_relevant("q3"));

  Qrels t = parse_qrels("101 0 docA 3\n101 0 docB 0\n102 Q0 docA 1\n", "trec.qrels");
  EXPECT_EQ(t.judged.at("101").at("docA"), 3);
  EXPECT_EQ(t.judged.at("102").at("docA"), 1);

  Qrels z = parse_qrels("query-id\tcorpus-id\tscore\nq\td\t0\n", "z.tsv");
  EXPECT_FALSE(z.has_relevant("q"));  // judged, but nothing relevant

  EXPECT_EQ(error_of([] { parse_qrels("query-id\tcorpus-id\tscore\nq1\td1\t1.5\n", "q.tsv"); }),
            "[data] q.tsv:2: relevance '1.5' is not an integer");
  EXPECT_EQ(error_of([] { parse_qrels("q1\td1\t1\nq1\td1\t2\n", "q.tsv"); }),
            "[data] q.tsv:2: query 'q1' and document 'd1' judged again with a different grade (2 here, 1 at line 1)");
  EXPECT_EQ(error_of([] { parse_qrels("q1\td1\n", "q.tsv"); }),
            "[data] q.tsv:1: expected 'query-id<TAB>corpus-id<TAB>score' (or TREC's 'qid 0 docid rel'), got 2 "
            "tab-separated fields");
  EXPECT_EQ(error_of([] { parse_qrels("query-id\tcorpus-id\tscore\n", "q.tsv"); }), "[data] q.tsv: holds no judgments");
}

TEST(BeirData, QrelsNamingAnUnknownIdIsAnError) {
  std::string d = temp_dir("beir");
  write_file(d + "/corpus.jsonl", "{\"_id\": \"d1\", \"text\": \"a\"}\n{\"_id\": \"d2\", \"text\": \"b\"}\n");
  write_file(d + "/queries.jsonl", "{\"_id\": \"q1\", \"text\": \"a\"}\n");
  write_file(d + "/qrels.tsv", "query-id\tcorpus-id\tscore\nq1\td1\t1\nq9\td2\t1\n");
  EXPECT_EQ(error_of([&] { read_beir_folder(d, "test"); }),
            "[data] " + d + "/qrels.tsv:3: qrels row names query 'q9', which " + d + "/queries.jsonl does not hold");
  write_file(d + "/qrels.tsv", "query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\tdX\t0\n");
  EXPECT_EQ(error_of([&] { read_beir_folder(d, "test"); }),
            "[data] " + d + "/qrels.tsv:3: qrels row names document 'dX', which " + d + "/corpus.jsonl does not hold");
  write_file(d + "/qrels.tsv", "query-id\tcorpus-id\tscore\nq1\td2\t1\n");
  BeirSet s = read_beir_folder(d, "test");  // no qrels/ folder: DIR/qrels.tsv
  EXPECT_EQ(s.qrels.rows.size(), 1u);
  std::filesystem::create_directory(d + "/qrels");
  EXPECT_EQ(error_of([&] { read_beir_folder(d, "dev"); }), "[data] " + d + ": no qrels/dev.tsv (the split named by --split)");
  EXPECT_EQ(error_of([&] { read_beir_folder(d + "/qrels", "dev"); }),
            "[data] " + d + "/qrels: not a BEIR folder (no corpus.jsonl)");
}

TEST(BeirData, ManpagesIrReads) {
  BeirSet s = read_beir_folder(shared_path("data/manpages-ir"), "test");
  EXPECT_EQ(s.corpus.size(), 1100);
  EXPECT_EQ(s.queries.size(), 1100);
  // qrels/test.tsv: a header and one judgment per test query.
  EXPECT_EQ(s.qrels.rows.size(), 216u);
  EXPECT_EQ(s.qrels.judged.at("q_nss.5").at("nss.5"), 1);
  EXPECT_EQ(s.corpus.ids[s.corpus.index.at("securetty.5")], "securetty.5");
  BeirSet train = read_beir_folder(shared_path("data/manpages-ir"), "train");
  EXPECT_EQ(train.qrels.rows.size(), 884u);
}

TEST(ScoredPairs, StsbQuirks) {
  std::vector<ScoredPair> p = parse_sts_tsv(
      "main-captions\tMSRvid\t2012test\t0000\t5.000\tA man with a hard hat is dancing.\tA man wearing a hard hat is "
      "dancing.\n"
      "main-news\theadlines\t2016\t0012\t4\tDriver backs \"into\" stroller\tDriver backs into mom\tEurope Media "
      "Monitor (http://emm.newsbrief.eu)\tEurope Media Monitor (http://emm.newsbrief.eu)\n"
      "main-forums\tanswers-forums\t2015\t0037\t0.20\tx\ty\r\n",
      "sts.csv");
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p[0].score, 5.0);
  EXPECT_EQ(p[1].score, 4.0);
  EXPECT_EQ(p[1].sentence1, "Driver backs \"into\" stroller");  // quotes are text
  EXPECT_EQ(p[1].sentence2, "Driver backs into mom");          // license columns ignored
  EXPECT_EQ(p[2].sentence2, "y");
  EXPECT_EQ(p[2].line, 3);
  EXPECT_EQ(error_of([] { parse_sts_tsv("a\tb\tc\td\tfive\tx\ty\n", "s.csv"); }),
            "[data] s.csv:1: score 'five' (field 5) is not a number");
  EXPECT_EQ(error_of([] { parse_sts_tsv("a\tb\tc\td\t1\tx\n", "s.csv"); }),
            "[data] s.csv:1: expected at least 7 tab-separated fields (genre, file, year, id, score, sentence1, "
            "sentence2), got 6");
}

TEST(ScoredPairs, Jsonl) {
  std::string d = temp_dir("pairs");
  write_file(d + "/p.jsonl", "{\"sentence1\": \"a\", \"sentence2\": \"b\", \"score\": 0.5}\n"
                             "{\"sentence1\": \"c\", \"sentence2\": \"d\", \"score\": 1}\n");
  std::vector<ScoredPair> p = read_scored_pairs(d + "/p.jsonl");
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[1].score, 1.0);
  EXPECT_EQ(p[1].sentence2, "d");
  write_file(d + "/p.jsonl", "{\"sentence1\": \"a\", \"sentence2\": \"b\", \"score\": 0.5}\n"
                             "{\"sentence1\": \"c\", \"score\": 1}\n");
  EXPECT_EQ(error_of([&] { read_scored_pairs(d + "/p.jsonl"); }),
            "[data] " + d + "/p.jsonl:2: record has no \"sentence2\" field");
  write_file(d + "/p.jsonl", "{\"sentence1\": \"a\", \"sentence2\": \"b\", \"score\": \"high\"}\n");
  EXPECT_EQ(error_of([&] { read_scored_pairs(d + "/p.jsonl"); }),
            "[data] " + d + "/p.jsonl:1: \"score\" must be a number");
}

TEST(ScoredPairs, RealStsbFiles) {
  std::vector<ScoredPair> dev = read_scored_pairs(shared_path("data/stsb/sts-dev.csv"));
  ASSERT_EQ(dev.size(), 1500u);
  EXPECT_EQ(dev[0].sentence1, "A man with a hard hat is dancing.");
  EXPECT_EQ(dev[0].score, 5.0);
  EXPECT_EQ(dev[3].score, 2.4);
  std::vector<ScoredPair> train = read_scored_pairs(shared_path("data/stsb/sts-train.csv"));
  EXPECT_EQ(train.size(), 5749u);
  for (const ScoredPair& p : train) {
    ASSERT_GE(p.score, 0.0) << "line " << p.line;
    ASSERT_LE(p.score, 5.0) << "line " << p.line;
  }
}
