// Embedding training data (data/text_examples.h): the JSONL forms, STS-B's
// scores brought to [0, 1], BEIR qrels turned into (query, document) pairs
// on the real manpages-ir set, one-line errors naming FILE:LINE, and the
// sampler's per-epoch shuffle with exact restore.
#include <gtest/gtest.h>

#include <set>

#include "core/error.h"
#include "data/text_examples.h"
#include "test_util.h"

using namespace peft;

namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST(TextExamples, JsonlPairsTripletsAndScored) {
  const TextExamples p = parse_text_examples_jsonl(
      "{\"anchor\": \"a1\", \"positive\": \"p1\"}\n\n{\"anchor\": \"a2\", \"positive\": \"p2\", \"id\": 3}\n", "p.jsonl");
  EXPECT_EQ(p.kind, "pairs");
  EXPECT_EQ(p.columns, 2);
  ASSERT_EQ(p.rows.size(), 2u);
  EXPECT_EQ(p.rows[1].texts, (std::vector<std::string>{"a2", "p2"}));
  EXPECT_EQ(p.rows[1].line, 3);

  const TextExamples t = parse_text_examples_jsonl(
      "{\"anchor\": \"a\", \"positive\": \"p\", \"negative\": \"n\"}\n", "t.jsonl");
  EXPECT_EQ(t.kind, "triplets");
  EXPECT_EQ(t.columns, 3);
  EXPECT_EQ(t.rows[0].texts[2], "n");

  const TextExamples m = parse_text_examples_jsonl(
      "{\"anchor\": \"a\", \"positive\": \"p\", \"negative_1\": \"n1\", \"negative_2\": \"n2\"}\n", "m.jsonl");
  EXPECT_EQ(m.columns, 4);
  EXPECT_EQ(m.rows[0].texts[3], "n2");

  const TextExamples s =
      parse_text_examples_jsonl("{\"sentence1\": \"x\", \"sentence2\": \"y\", \"score\": 0.25}\n", "s.jsonl");
  EXPECT_TRUE(s.scored);
  EXPECT_EQ(s.rows[0].score, 0.25);  // JSONL scores are taken as given
}

TEST(TextExamples, MissingFieldsNameFileAndLine) {
  EXPECT_EQ(error_of([] {
              parse_text_examples_jsonl("{\"anchor\": \"a\", \"positive\": \"p\"}\n{\"anchor\": \"b\"}\n", "d.jsonl");
            }),
            "[data] d.jsonl:2: missing the field \"positive\"");
  EXPECT_EQ(error_of([] {
              parse_text_examples_jsonl(
                  "{\"anchor\": \"a\", \"positive\": \"p\", \"negative\": \"n\"}\n{\"anchor\": \"b\", \"positive\": 5}\n",
                  "d.jsonl");
            }),
            "[data] d.jsonl:2: \"positive\" is not a string");
  EXPECT_EQ(error_of([] { parse_text_examples_jsonl("{\"query\": \"a\"}\n", "d.jsonl"); }).rfind("[data] d.jsonl:1: ", 0),
            0u);
  EXPECT_NE(error_of([] { parse_text_examples_jsonl("{\"anchor\": \"a\", \"positive\": \"p\"}\nnot json\n", "d.jsonl"); })
                .find("d.jsonl:2"),
            std::string::npos);
}

TEST(TextExamples, StsbScoresAreDividedByFive) {
  const TextExamples s = read_text_examples(test::shared_path("data/stsb/sts-dev.csv"));
  EXPECT_TRUE(s.scored);
  EXPECT_EQ(s.kind, "scored");
  ASSERT_GT(s.rows.size(), 1000u);
  // First row of the file: "... 5.000  A man with a hard hat is dancing. ..."
  EXPECT_EQ(s.rows[0].texts[0], "A man with a hard hat is dancing.");
  EXPECT_DOUBLE_EQ(s.rows[0].score, 1.0);
  for (const TextExample& e : s.rows) {
    EXPECT_GE(e.score, 0.0);
    EXPECT_LE(e.score, 1.0);
  }
}

TEST(TextExamples, BeirFolderGivesQueryDocumentPairs) {
  const TextExamples b = read_text_examples(test::shared_path("data/manpages-ir"));
  EXPECT_EQ(b.kind, "beir");
  EXPECT_EQ(b.columns, 2);
  // qrels/train.tsv: 884 rows after its header, every grade 1.
  EXPECT_EQ(b.rows.size(), 884u);
  // Its first row: q_securetty.5 -> securetty.5.
  EXPECT_EQ(b.rows[0].texts[0], "list of terminals on which root is allowed to login");
  EXPECT_EQ(b.rows[0].texts[1].rfind("securetty 5 2022-10-30 Linux man-pages", 0), 0u);
  const TextExamples t = read_text_examples(test::shared_path("data/manpages-ir"), "test");
  EXPECT_EQ(t.rows.size(), 216u);
  EXPECT_NE(error_of([] { read_text_examples(test::shared_path("data/stsb")); }).find("corpus.jsonl"),
            std::string::npos);
}

TEST(TextExampleSampler, ShufflesPerEpochAndRestoresExactly) {
  TextExampleSampler s(10, 42);
  std::vector<int64_t> first = s.next(10);
  EXPECT_EQ(std::set<int64_t>(first.begin(), first.end()).size(), 10u);  // a permutation
  std::vector<int64_t> mid = s.next(4);  // epoch 1 starts
  const DataPosition pos = s.position();
  EXPECT_EQ(pos.epoch, 1);
  const std::vector<int64_t> rest = s.next(13);  // wraps into epoch 2
  TextExampleSampler r(10, 42);
  r.restore(pos);
  EXPECT_EQ(r.next(13), rest);
  TextExampleSampler other(10, 43);
  EXPECT_NE(other.next(10), first);
  EXPECT_THROW(r.restore({0, 11, 0, 0}), InputError);
}
