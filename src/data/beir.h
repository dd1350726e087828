// Retrieval test collections in BEIR's layout:
//
//   corpus.jsonl    {"_id": "d1", "title": "...", "text": "..."}   title optional
//   queries.jsonl   {"_id": "q1", "text": "..."}
//   qrels/SPLIT.tsv query-id <TAB> corpus-id <TAB> score           one header line
//
// Qrels scores are integer relevance grades (0 = judged non-relevant; BEIR's
// loader reads them with int()). TREC's four-column qrels ("qid 0 docid rel",
// split on whitespace) are read too, since trec_eval users have those.
// Ids are strings; a number in an "_id" field is taken as its decimal text,
// as BEIR's Python loader would see it after json.loads + dict keys.
//
// Errors are one line, "[data] FILE:LINE: problem": a record missing its
// fields, a duplicate id, a qrels row that is not three columns and an integer
// grade, two different grades for one (query, document) pair, and (through
// check_qrels_ids) a qrels row naming a query or document the files lack.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

namespace peft {

struct BeirDocs {
  std::vector<std::string> ids;
  std::vector<std::string> titles;  // "" where the record has none
  std::vector<std::string> texts;
  std::unordered_map<std::string, int64_t> index;  // id -> position

  int64_t size() const { return static_cast<int64_t>(ids.size()); }
  // "title text" as BEIR's dense and lexical baselines feed a document to the
  // model (title and text joined by one space; just the text when the title
  // is empty).
  std::string joined(int64_t i) const;
};

// Reads corpus.jsonl (titles allowed) or queries.jsonl (titles ignored).
BeirDocs read_beir_corpus(const std::string& path);
BeirDocs read_beir_queries(const std::string& path);

struct Qrels {
  struct Row {
    std::string query_id, doc_id;
    int relevance = 0;
    int64_t line = 0;
  };
  std::string path;       // for error messages
  std::vector<Row> rows;  // file order; no two rows for the same pair
  // query id -> (doc id -> grade); queries in order of first appearance.
  std::vector<std::string> query_order;
  std::map<std::string, std::map<std::string, int>> judged;

  // True when the query has at least one document with grade > 0.
  bool has_relevant(const std::string& query_id) const;
};

Qrels read_qrels(const std::string& path);
// The same over text in memory (`path` names it in errors).
Qrels parse_qrels(const std::string& text, const std::string& path);

// Throws "[data] QRELS:LINE: qrels row names query 'x', which QUERIES does
// not hold" (or document / CORPUS) for the first row that names an unknown id.
void check_qrels_ids(const Qrels& qrels, const BeirDocs& queries, const std::string& queries_path,
                     const BeirDocs& corpus, const std::string& corpus_path);

// A whole BEIR folder: DIR/corpus.jsonl, DIR/queries.jsonl, DIR/qrels/SPLIT.tsv
// (or DIR/qrels.tsv when DIR has no qrels/ folder), ids checked.
struct BeirSet {
  std::string corpus_path, queries_path, qrels_path;
  BeirDocs corpus, queries;
  Qrels qrels;
};
BeirSet read_beir_files(const std::string& corpus, const std::string& queries, const std::string& qrels);
BeirSet read_beir_folder(const std::string& dir, const std::string& split);

}  // namespace peft
