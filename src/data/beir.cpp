#include "data/beir.h"

#include <charconv>
#include <filesystem>
#include <string_view>

#include "core/error.h"
#include "data/jsonl.h"
#include "io/atomic_file.h"

namespace peft {

namespace {

[[noreturn]] void fail_at(const std::string& path, int64_t line, const std::string& problem) {
  fail("data", path + ":" + std::to_string(line) + ": " + problem);
}

// An "_id" as text: strings as they are, integers as their decimal digits.
std::string id_field(const JsonlRecord& r, const std::string& path) {
  auto it = r.value.find("_id");
  if (it == r.value.end()) fail_at(path, r.line, "record has no \"_id\" field");
  if (it->is_string()) {
    std::string id = it->get<std::string>();
    if (id.empty()) fail_at(path, r.line, "\"_id\" is empty");
    return id;
  }
  if (it->is_number_integer()) return it->dump();
  fail_at(path, r.line, "\"_id\" must be a string or an integer");
}

std::string text_field(const JsonlRecord& r, const std::string& path, const char* name, bool required) {
  auto it = r.value.find(name);
  if (it == r.value.end() || it->is_null()) {
    if (required) fail_at(path, r.line, std::string("record has no \"") + name + "\" field");
    return "";
  }
  if (!it->is_string()) fail_at(path, r.line, std::string("\"") + name + "\" must be a string");
  return it->get<std::string>();
}

BeirDocs read_docs(const std::string& path, bool with_titles) {
  std::vector<JsonlRecord> recs = read_jsonl(path);
  if (recs.empty()) fail("data", path + ": holds no records");
  BeirDocs d;
  std::unordered_map<std::string, int64_t> first_line;
  for (const JsonlRecord& r : recs) {
    std::string id = id_field(r, path);
    auto [it, fresh] = first_line.emplace(id, r.line);
    if (!fresh) fail_at(path, r.line, "duplicate \"_id\" '" + id + "' (first at line " + std::to_string(it->second) + ")");
    d.index.emplace(id, d.size());
    d.ids.push_back(std::move(id));
    d.titles.push_back(with_titles ? text_field(r, path, "title", false) : "");
    d.texts.push_back(text_field(r, path, "text", true));
  }
  return d;
}

std::vector<std::string_view> split_on(std::string_view l, bool tabs_only) {
  std::vector<std::string_view> f;
  if (tabs_only) {
    size_t pos = 0;
    while (true) {
      size_t t = l.find('\t', pos);
      f.push_back(l.substr(pos, t == std::string_view::npos ? std::string_view::npos : t - pos));
      if (t == std::string_view::npos) break;
      pos = t + 1;
    }
    return f;
  }
  size_t pos = 0;
  while (pos < l.size()) {
    size_t s = l.find_first_not_of(" \t", pos);
    if (s == std::string_view::npos) break;
    size_t e = l.find_first_of(" \t", s);
    if (e == std::string_view::npos) e = l.size();
    f.push_back(l.substr(s, e - s));
    pos = e;
  }
  return f;
}

bool parse_int(std::string_view s, int& out) {
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

}  // namespace

std::string BeirDocs::joined(int64_t i) const {
  const std::string& t = titles[i];
  if (t.empty()) return texts[i];
  if (texts[i].empty()) return t;
  return t + " " + texts[i];
}

BeirDocs read_beir_corpus(const std::string& path) { return read_docs(path, true); }
BeirDocs read_beir_queries(const std::string& path) { return read_docs(path, false); }

bool Qrels::has_relevant(const std::string& query_id) const {
  auto it = judged.find(query_id);
  if (it == judged.end()) return false;
  for (const auto& [doc, rel] : it->second)
    if (rel > 0) return true;
  return false;
}

Qrels parse_qrels(const std::string& text_in, const std::string& path) {
  std::string_view text = text_in;
  if (text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  Qrels q;
  q.path = path;
  std::map<std::pair<std::string, std::string>, int64_t> first_line;
  int64_t line = 0;
  size_t pos = 0;
  bool first_content = true;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view l = text.substr(pos, end - pos);
    pos = end + 1;
    ++line;
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    if (l.find_first_not_of(" \t") == std::string_view::npos) continue;
    // BEIR: three tab-separated columns. TREC: "qid iter docid rel" on
    // whitespace. A line with a tab and three fields is BEIR's form.
    std::vector<std::string_view> f = split_on(l, true);
    std::string_view qid, did, grade;
    if (f.size() == 3) {
      qid = f[0], did = f[1], grade = f[2];
    } else {
      f = split_on(l, false);
      if (f.size() != 4) {
        fail_at(path, line, "expected 'query-id<TAB>corpus-id<TAB>score' (or TREC's 'qid 0 docid rel'), got " +
                                std::to_string(split_on(l, true).size()) + " tab-separated fields");
      }
      qid = f[0], did = f[2], grade = f[3];
    }
    int rel = 0;
    if (!parse_int(grade, rel)) {
      // The header line (BEIR's "query-id corpus-id score") is the one first
      // line allowed to have a non-integer third column.
      if (first_content) {
        first_content = false;
        continue;
      }
      fail_at(path, line, "relevance '" + std::string(grade) + "' is not an integer");
    }
    first_content = false;
    if (qid.empty() || did.empty()) fail_at(path, line, "empty query or corpus id");
    std::string qs(qid), ds(did);
    auto [it, fresh] = first_line.emplace(std::make_pair(qs, ds), line);
    if (!fresh) {
      if (q.judged[qs][ds] != rel) {
        fail_at(path, line, "query '" + qs + "' and document '" + ds + "' judged again with a different grade (" +
                                std::to_string(rel) + " here, " + std::to_string(q.judged[qs][ds]) + " at line " +
                                std::to_string(it->second) + ")");
      }
      continue;  // the same judgment twice changes nothing
    }
    if (!q.judged.count(qs)) q.query_order.push_back(qs);
    q.judged[qs][ds] = rel;
    q.rows.push_back({std::move(qs), std::move(ds), rel, line});
  }
  if (q.rows.empty()) fail("data", path + ": holds no judgments");
  return q;
}

Qrels read_qrels(const std::string& path) { return parse_qrels(read_file_bytes(path), path); }

void check_qrels_ids(const Qrels& qrels, const BeirDocs& queries, const std::string& queries_path,
                     const BeirDocs& corpus, const std::string& corpus_path) {
  for (const Qrels::Row& r : qrels.rows) {
    if (!queries.index.count(r.query_id))
      fail_at(qrels.path, r.line, "qrels row names query '" + r.query_id + "', which " + queries_path + " does not hold");
    if (!corpus.index.count(r.doc_id))
      fail_at(qrels.path, r.line, "qrels row names document '" + r.doc_id + "', which " + corpus_path + " does not hold");
  }
}

BeirSet read_beir_files(const std::string& corpus, const std::string& queries, const std::string& qrels) {
  BeirSet s;
  s.corpus_path = corpus, s.queries_path = queries, s.qrels_path = qrels;
  s.corpus = read_beir_corpus(corpus);
  s.queries = read_beir_queries(queries);
  s.qrels = read_qrels(qrels);
  check_qrels_ids(s.qrels, s.queries, queries, s.corpus, corpus);
  return s;
}

BeirSet read_beir_folder(const std::string& dir, const std::string& split) {
  namespace fs = std::filesystem;
  const fs::path d(dir);
  if (!fs::is_directory(d)) fail("data", dir + ": not a folder (expected a BEIR folder with corpus.jsonl, queries.jsonl, qrels/)");
  for (const char* f : {"corpus.jsonl", "queries.jsonl"})
    if (!fs::is_regular_file(d / f)) fail("data", dir + ": not a BEIR folder (no " + f + ")");
  fs::path qrels = d / "qrels" / (split + ".tsv");
  if (!fs::is_regular_file(qrels)) {
    if (fs::is_directory(d / "qrels")) fail("data", dir + ": no qrels/" + split + ".tsv (the split named by --split)");
    qrels = d / "qrels.tsv";
    if (!fs::is_regular_file(qrels)) fail("data", dir + ": not a BEIR folder (no qrels/" + split + ".tsv or qrels.tsv)");
  }
  return read_beir_files((d / "corpus.jsonl").string(), (d / "queries.jsonl").string(), qrels.string());
}

}  // namespace peft
