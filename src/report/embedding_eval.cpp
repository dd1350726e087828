#include "report/embedding_eval.h"

#include <nlohmann/json.hpp>

#include "io/atomic_file.h"

namespace peft::report {

const std::vector<std::string>& known_eval_metrics() {
  static const std::vector<std::string> k{"ndcg@10",  "mrr@10",   "recall@1",     "recall@10",   "recall@100",
                                          "map@100",  "spearman", "pearson",      "sts_spearman", "sts_pearson"};
  return k;
}

std::string metric_name(const std::string& key) {
  if (key == "ndcg@10") return "nDCG@10";
  if (key == "mrr@10") return "MRR@10";
  if (key == "map@100") return "MAP@100";
  if (key.rfind("recall@", 0) == 0) return "Recall@" + key.substr(7);
  if (key == "spearman" || key == "sts_spearman") return "STS Spearman";
  if (key == "pearson" || key == "sts_pearson") return "STS Pearson";
  return key;
}

namespace {

// Numbers of a JSON array; false when it is not an array of numbers.
bool numbers(const nlohmann::json& j, std::vector<double>& out) {
  if (!j.is_array()) return false;
  for (const auto& v : j) {
    if (!v.is_number()) return false;
    out.push_back(v.get<double>());
  }
  return true;
}

// Vectors of one length; false when ragged or not numbers.
bool vectors(const nlohmann::json& j, std::vector<std::vector<float>>& out) {
  if (!j.is_array()) return false;
  for (const auto& row : j) {
    if (!row.is_array() || row.empty()) return false;
    std::vector<float> v;
    for (const auto& x : row) {
      if (!x.is_number()) return false;
      v.push_back(x.get<float>());
    }
    if (!out.empty() && v.size() != out.front().size()) return false;
    out.push_back(std::move(v));
  }
  return true;
}

void read_phase(const nlohmann::json& j, const std::string& name, const std::string& path, EmbeddingPhase& p,
                std::vector<std::string>& notes) {
  if (!j.contains(name)) return;
  const auto& o = j[name];
  if (!o.is_object()) {
    notes.push_back("skipped \"" + name + "\" of " + path + " (not an object)");
    return;
  }
  auto field = [&](const char* key, auto& out, auto reader) {
    if (!o.contains(key)) return;
    if (!reader(o[key], out)) {
      out.clear();
      notes.push_back("skipped " + name + "." + key + " of " + path + " (not " +
                      (std::string(key) == "queries" || std::string(key) == "documents"
                           ? "a list of vectors of one length)"
                           : "a list of numbers)"));
    }
  };
  field("positive_cos", p.positive_cos, numbers);
  field("negative_cos", p.negative_cos, numbers);
  field("queries", p.queries, vectors);
  field("documents", p.documents, vectors);
}

}  // namespace

EmbeddingEval read_embedding_eval(const std::string& path, std::vector<std::string>& notes) {
  EmbeddingEval e;
  const nlohmann::json j = nlohmann::json::parse(read_file_bytes(path), nullptr, false);
  if (!j.is_object()) {
    notes.push_back("skipped " + path + " (not a JSON object)");
    return e;
  }
  read_phase(j, "before", path, e.before, notes);
  read_phase(j, "after", path, e.after, notes);
  // Before and after are projected on one PCA plane: they must share d.
  auto dim = [](const EmbeddingPhase& p) -> size_t {
    if (!p.queries.empty()) return p.queries.front().size();
    return p.documents.empty() ? 0 : p.documents.front().size();
  };
  const size_t d = dim(e.before) ? dim(e.before) : dim(e.after);
  for (EmbeddingPhase* p : {&e.before, &e.after})
    for (auto* vs : {&p->queries, &p->documents})
      if (!vs->empty() && vs->front().size() != d) {
        notes.push_back("skipped the embeddings of " + path + " (before and after differ in dimension)");
        e.before.queries.clear();
        e.before.documents.clear();
        e.after.queries.clear();
        e.after.documents.clear();
      }
  e.present = !e.before.empty() || !e.after.empty();
  return e;
}

}  // namespace peft::report
