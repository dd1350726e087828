// Reading a corpus for the index (JSONL or a folder) and chunking by tokens.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/error.h"
#include "search/corpus.h"
#include "test_util.h"

using namespace peft;

TEST(SearchCorpus, JsonlKeepsOtherFieldsAsMetadata) {
  const std::string d = test::temp_dir("corpus");
  test::write_file(d + "/c.jsonl",
                   "{\"_id\": \"a\", \"title\": \"T\", \"text\": \"alpha\", \"lang\": \"en\", \"n\": 3}\n\n"
                   "{\"id\": 17, \"text\": \"beta\", \"tags\": [\"x\"]}\n");
  auto docs = read_corpus(d + "/c.jsonl");
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[0].id, "a");
  EXPECT_EQ(docs[0].title, "T");
  EXPECT_EQ(docs[0].meta, (nlohmann::json{{"lang", "en"}, {"n", 3}}));
  EXPECT_EQ(docs[1].id, "17");
  EXPECT_EQ(docs[1].title, "");
  EXPECT_EQ(docs[1].meta["tags"][0], "x");
  EXPECT_EQ(document_embed_text(docs[0]), "T alpha");
  EXPECT_EQ(document_embed_text(docs[1]), "beta");
}

TEST(SearchCorpus, BadRecordsAreOneLineErrors) {
  const std::string d = test::temp_dir("corpus");
  auto expect_error = [&](const std::string& body, const std::string& part) {
    test::write_file(d + "/c.jsonl", body);
    try {
      read_corpus(d + "/c.jsonl");
      ADD_FAILURE() << "no error for " << body;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
  };
  expect_error("{\"_id\": \"a\"}\n", "c.jsonl:1: \"text\" must be a string");
  expect_error("{\"text\": \"x\"}\n", "c.jsonl:1: no \"_id\" or \"id\"");
  expect_error("{\"_id\": \"a\", \"text\": \"x\"}\n{\"_id\": \"a\", \"text\": \"y\"}\n", "'a' appears twice");
  expect_error("{\"_id\": [1], \"text\": \"x\"}\n", "non-empty string or an integer");
  expect_error("not json\n", "c.jsonl:1");
  EXPECT_THROW(read_corpus(d + "/missing.jsonl"), InputError);
  std::filesystem::create_directories(d + "/empty");
  EXPECT_THROW(read_corpus(d + "/empty"), InputError);
}

TEST(SearchCorpus, FolderOfTextFiles) {
  const std::string d = test::temp_dir("corpus");
  std::filesystem::create_directories(d + "/sub");
  test::write_file(d + "/b.txt", "plain text");
  test::write_file(d + "/sub/a.md", "# The Title\nbody\n");
  test::write_file(d + "/c.bin", "ignored");
  auto docs = read_corpus(d);
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[0].id, "b.txt");
  EXPECT_EQ(docs[0].title, "b");
  EXPECT_EQ(docs[1].id, "sub/a.md");
  EXPECT_EQ(docs[1].title, "The Title");
  EXPECT_EQ(docs[1].meta["path"], "sub/a.md");
}

TEST(SearchCorpus, ChunksStayWithinTheTokenBudgetAndOverlap) {
  SearchDocument d{"D", "t", "w0 w1 w2 w3 w4 w5 w6 w7 w8 w9", {{"k", 1}}};
  SearchDocument small{"S", "", "one two", {}};
  // One token per word, except "w5" which costs 3.
  auto count = [](const std::string& w) -> int64_t { return w == " w5" ? 3 : 1; };
  auto out = chunk_documents({d, small}, 4, 1, count);
  std::vector<std::string> texts;
  for (const auto& c : out) texts.push_back(c.text);
  // w0..w3 (4); back 1 -> w3 w4 (2) + w5 (3) would be 5 > 4 -> "w3 w4";
  // back 1 -> w4 w5 (4); back over w5 (3 >= 1) -> w5 w6 (4); w6 w7 w8 w9 (4).
  EXPECT_EQ(texts, (std::vector<std::string>{"w0 w1 w2 w3", "w3 w4", "w4 w5", "w5 w6", "w6 w7 w8 w9", "one two"}));
  EXPECT_EQ(out[0].id, "D#0");
  EXPECT_EQ(out[4].id, "D#4");
  EXPECT_EQ(out[4].meta["parent"], "D");
  EXPECT_EQ(out[4].meta["chunk"], 4);
  EXPECT_EQ(out[4].meta["k"], 1);
  EXPECT_EQ(out[5].id, "S");  // fits: kept whole
  EXPECT_THROW(chunk_documents({d}, 4, 4, count), InputError);
}
