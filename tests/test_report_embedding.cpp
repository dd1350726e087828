// The report's pictures of embedding runs: the PCA plane against numpy
// (bench/make_report_pca_goldens.py), the cosine histograms, the projection
// and the retrieval metrics of a run folder in the format `peft train
// --task embedding` writes (embedding_eval.json, retrieval evaluations in
// metrics.jsonl, eval_before/eval_after in summary.json).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "html_check.h"
#include "report/colors.h"
#include "report/embedding_charts.h"
#include "report/page.h"
#include "report/pca.h"
#include "report/run.h"
#include "test_util.h"

namespace peft::report {
namespace {

using test::attr;
using test::charts;
using test::elements;

const std::string kData = std::string(PEFT_SOURCE_DIR) + "/tests/data/report_embedding";

nlohmann::json expected() { return nlohmann::json::parse(test::read_file(kData + "/pca_expected.json")); }

std::vector<const std::vector<float>*> rows_in_file_order(const EmbeddingEval& e) {
  std::vector<const std::vector<float>*> rows;
  for (const EmbeddingPhase* p : {&e.before, &e.after})
    for (const auto* vs : {&p->queries, &p->documents})
      for (const auto& v : *vs) rows.push_back(&v);
  return rows;
}

TEST(ReportPca, MatchesNumpysEigendecomposition) {
  std::vector<std::string> notes;
  const EmbeddingEval e = read_embedding_eval(kData + "/embedding_eval.json", notes);
  ASSERT_TRUE(notes.empty()) << notes.front();
  ASSERT_EQ(e.before.queries.size(), 20u);
  ASSERT_EQ(e.after.documents.size(), 30u);
  const auto rows = rows_in_file_order(e);
  const Pca2 p = fit_pca2(rows);
  const nlohmann::json x = expected();
  ASSERT_EQ(p.dim, 16);
  for (int i = 0; i < 16; ++i) EXPECT_NEAR(p.mean[i], x["mean"][i].get<double>(), 1e-12);
  for (int c = 0; c < 2; ++c) {
    EXPECT_NEAR(p.variance[c], x["variance"][c].get<double>(), 1e-9 * x["variance"][0].get<double>()) << c;
    for (int i = 0; i < 16; ++i) EXPECT_NEAR(p.axis[c][i], x["axes"][c][i].get<double>(), 1e-8) << c << " " << i;
  }
  EXPECT_NEAR(p.total_variance, x["total_variance"].get<double>(), 1e-9);
  for (size_t k = 0; k < rows.size(); ++k) {
    const auto xy = p.project(*rows[k]);
    EXPECT_NEAR(xy[0], x["projections"][k][0].get<double>(), 1e-7) << k;
    EXPECT_NEAR(xy[1], x["projections"][k][1].get<double>(), 1e-7) << k;
  }
}

TEST(ReportPca, DegenerateInputs) {
  // All vectors equal: no variance, every projection at the origin.
  const std::vector<float> a{1, 2, 3};
  const Pca2 same = fit_pca2({&a, &a, &a});
  EXPECT_EQ(same.variance[0], 0.0);
  EXPECT_EQ(same.project(a)[0], 0.0);
  // Points on a line in 3-D: all the variance on the first axis, which is
  // the line's direction (1, 2, 2)/3 with its largest component positive.
  const std::vector<float> u{-1, -2, -2}, v{0, 0, 0}, w{2, 4, 4};
  const Pca2 line = fit_pca2({&u, &v, &w});
  EXPECT_NEAR(line.axis[0][1], 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(line.axis[0][0], 1.0 / 3.0, 1e-12);
  EXPECT_NEAR(line.variance[1], 0.0, 1e-12);
  EXPECT_NEAR(line.variance[0], line.total_variance, 1e-12);
  // One dimension: no second axis.
  const std::vector<float> s1{1}, s2{3};
  const Pca2 one = fit_pca2({&s1, &s2});
  EXPECT_NEAR(one.project(s2)[0], 1.0, 1e-12);
  EXPECT_EQ(one.project(s2)[1], 0.0);
  const std::vector<float> bad{1, 2};
  EXPECT_THROW(fit_pca2({&a, &bad}), std::invalid_argument);
  EXPECT_THROW(fit_pca2({}), std::invalid_argument);
}

// An embedding run folder as `peft train --task embedding` writes it:
// training records, retrieval evaluations at steps 0, 5 and 10, the
// summary, and embedding_eval.json (the golden one).
std::string write_embedding_run(const std::string& dir, bool summary = true) {
  std::filesystem::create_directories(dir);
  std::string m;
  auto eval = [&](int s) {
    m += nlohmann::json{{"step", s},           {"ndcg@10", 0.3 + 0.02 * s}, {"mrr@10", 0.25 + 0.02 * s},
                        {"recall@1", 0.2},     {"recall@10", 0.5},          {"recall@100", 0.9},
                        {"map@100", 0.28}}
             .dump() +
         "\n";
  };
  eval(0);
  for (int s = 1; s <= 10; ++s) {
    m += nlohmann::json{{"step", s}, {"loss", 2.0 - 0.1 * s}, {"lr", 2e-5}, {"tokens", 900 * s}}.dump() + "\n";
    if (s % 5 == 0) eval(s);
  }
  test::write_file(dir + "/metrics.jsonl", m);
  if (summary) {
    nlohmann::json j{{"task", "embedding"},
                     {"method", "lora"},
                     {"loss", "mnrl"},
                     {"trainable_parameters", 73728},
                     {"total_parameters", 22713216},
                     {"steps", 10},
                     {"eval_before", {{"ndcg@10", 0.3}, {"mrr@10", 0.25}, {"recall@10", 0.5}}},
                     {"eval_after", {{"ndcg@10", 0.5}, {"mrr@10", 0.45}, {"recall@10", 0.5}}},
                     {"final_train_loss", 1.0},
                     {"tokens_per_second", 321.0},
                     {"seconds", 28.0}};
    test::write_file(dir + "/summary.json", j.dump(2));
  }
  std::filesystem::copy_file(kData + "/embedding_eval.json", dir + "/embedding_eval.json",
                             std::filesystem::copy_options::overwrite_existing);
  return dir;
}

// An LLM run beside it (method full), to check colours and that each kind
// of run gets only its own charts.
std::string write_llm_run(const std::string& dir) {
  std::filesystem::create_directories(dir);
  std::string m;
  for (int s = 1; s <= 6; ++s) m += nlohmann::json{{"step", s}, {"loss", 4.0 - 0.1 * s}, {"tokens", 128 * s}}.dump() + "\n";
  test::write_file(dir + "/metrics.jsonl", m);
  test::write_file(dir + "/summary.json", nlohmann::json{{"method", "full"},
                                                         {"trainable_parameters", 1000},
                                                         {"total_parameters", 1000},
                                                         {"eval_loss_before", 4.0},
                                                         {"eval_loss_after", 3.2}}
                                              .dump());
  return dir;
}

struct Page {
  std::vector<RunData> runs;
  std::string html;
};

Page embedding_page() {
  const std::string d = test::temp_dir("report_emb");
  Page p;
  p.runs.push_back(read_run(write_embedding_run(d + "/emb")));
  p.runs.push_back(read_run(write_llm_run(d + "/llm")));
  p.html = render_page(p.runs, PageOptions{});
  return p;
}

TEST(ReportEmbedding, ReadsTheRunsMetricsAndVectors) {
  const Page p = embedding_page();
  const RunData& r = p.runs[0];
  EXPECT_TRUE(r.is_embedding());
  EXPECT_FALSE(p.runs[1].is_embedding());
  EXPECT_TRUE(r.notes.empty()) << r.notes.front();
  EXPECT_TRUE(r.embedding.present);
  EXPECT_EQ(r.embedding.before.positive_cos.size(), 20u);
  EXPECT_EQ(r.embedding.before.negative_cos.size(), 40u);
  // Before/after from the summary where it has them, else from the first
  // (step 0) and last evaluation of metrics.jsonl.
  std::map<std::string, EvalMetric> m;
  for (const EvalMetric& e : r.metrics) m[e.key] = e;
  EXPECT_DOUBLE_EQ(m["ndcg@10"].before, 0.3);
  EXPECT_DOUBLE_EQ(m["ndcg@10"].after, 0.5);
  EXPECT_DOUBLE_EQ(m["map@100"].before, 0.28);
  EXPECT_DOUBLE_EQ(m["map@100"].after, 0.28);
  EXPECT_EQ(m.count("sts_spearman"), 0u);
  ASSERT_EQ(r.metric_curves.at("ndcg@10").size(), 3u);
  EXPECT_DOUBLE_EQ(r.metric_curves.at("ndcg@10")[2].value, 0.5);
  EXPECT_DOUBLE_EQ(r.metric_curves.at("ndcg@10")[2].tokens, 9000);
}

TEST(ReportEmbedding, PageIsWellFormedAndSelfContained) {
  const Page p = embedding_page();
  EXPECT_EQ(test::xml_problem(p.html), "");
  EXPECT_TRUE(test::external_references(p.html).empty());
  for (const char* kind : {"cosine-histogram", "pca", "metric-before-after", "metric-steps-ndcg@10"}) {
    const auto c = charts(p.html, kind);
    ASSERT_EQ(c.size(), 1u) << kind;
    EXPECT_EQ(test::xml_problem(c[0]), "") << kind;
  }
}

TEST(ReportEmbedding, HistogramsCountEveryPairOnSharedBins) {
  const Page p = embedding_page();
  const std::string c = charts(p.html, "cosine-histogram").at(0);
  const std::vector<double> edges = cosine_bin_edges(p.runs[0], 30);
  const std::map<std::string, const std::vector<double>*> series{
      {"before positive", &p.runs[0].embedding.before.positive_cos},
      {"before negative", &p.runs[0].embedding.before.negative_cos},
      {"after positive", &p.runs[0].embedding.after.positive_cos},
      {"after negative", &p.runs[0].embedding.after.negative_cos}};
  std::set<std::string> widths;
  for (const auto& [name, values] : series) {
    const std::string phase = name.substr(0, name.find(' ')), pairs = name.substr(name.find(' ') + 1);
    const auto bars = elements(c, "rect", {"class=\"hist-bar\"", "data-phase=\"" + phase + "\"", "data-pairs=\"" + pairs + "\""});
    ASSERT_EQ(bars.size(), 30u) << name;
    // Each bin's count is the number of values in it, counted here directly.
    for (size_t k = 0; k < bars.size(); ++k) {
      int64_t n = 0;
      for (double v : *values)
        n += (v >= edges[k] && (v < edges[k + 1] || (k + 1 == bars.size() && v <= edges[k + 1]))) ? 1 : 0;
      EXPECT_EQ(std::stoll(attr(bars[k], "data-count")), n) << name << " bin " << k;
      widths.insert(attr(bars[k], "x"));
    }
  }
  // Shared axes: both phases use the same bins, so each panel has the same 30
  // bar positions (offset by the panel), i.e. 60 distinct x in all.
  EXPECT_EQ(widths.size(), 60u);
  // Every value inside the bins.
  for (const auto& [name, values] : series)
    for (double v : *values) {
      EXPECT_GE(v, edges.front());
      EXPECT_LE(v, edges.back());
    }
}

TEST(ReportEmbedding, ProjectionDrawsEveryVectorWhereNumpyPutsIt) {
  const Page p = embedding_page();
  const std::string c = charts(p.html, "pca").at(0);
  const nlohmann::json x = expected();
  // In file order: before queries (20), before documents (30), after queries, after documents.
  struct Mark {
    double px, py;
  };
  auto centres = [&](const std::string& phase, bool query) {
    std::vector<Mark> out;
    for (const auto& t : elements(c, query ? "circle" : "rect",
                                  {std::string("class=\"pca-") + (query ? "query" : "doc") + "\"", "data-phase=\"" + phase + "\""}))
      out.push_back(query ? Mark{std::stod(attr(t, "cx")), std::stod(attr(t, "cy"))}
                          : Mark{std::stod(attr(t, "x")) + 2.5, std::stod(attr(t, "y")) + 2.5});
    return out;
  };
  std::vector<std::pair<Mark, std::array<double, 2>>> before, after;
  size_t k = 0;
  for (const std::string phase : {"before", "after"}) {
    auto& dst = phase == "before" ? before : after;
    const auto q = centres(phase, true), d = centres(phase, false);
    ASSERT_EQ(q.size(), 20u) << phase;
    ASSERT_EQ(d.size(), 30u) << phase;
    for (const Mark& m : q) dst.push_back({m, {x["projections"][k][0].get<double>(), x["projections"][k][1].get<double>()}}), ++k;
    for (const Mark& m : d) dst.push_back({m, {x["projections"][k][0].get<double>(), x["projections"][k][1].get<double>()}}), ++k;
  }
  // Pixels are an affine map of numpy's projection (x right, y up), with the
  // same scale in both panels: shared axes.
  auto fit = [](const std::vector<std::pair<Mark, std::array<double, 2>>>& v, int c, double& a, double& b) {
    auto lo = std::min_element(v.begin(), v.end(), [&](auto& p, auto& q) { return p.second[c] < q.second[c]; });
    auto hi = std::max_element(v.begin(), v.end(), [&](auto& p, auto& q) { return p.second[c] < q.second[c]; });
    const double plo = c == 0 ? lo->first.px : lo->first.py, phi = c == 0 ? hi->first.px : hi->first.py;
    b = (phi - plo) / (hi->second[c] - lo->second[c]);
    a = plo - b * lo->second[c];
  };
  double scale[2][2], off[2][2];
  for (int ph = 0; ph < 2; ++ph) {
    const auto& v = ph == 0 ? before : after;
    for (int c = 0; c < 2; ++c) {
      fit(v, c, off[ph][c], scale[ph][c]);
      for (const auto& [m, e] : v) EXPECT_NEAR(c == 0 ? m.px : m.py, off[ph][c] + scale[ph][c] * e[c], 0.02);
    }
  }
  EXPECT_GT(scale[0][0], 0);
  EXPECT_LT(scale[0][1], 0);  // SVG y grows downward
  EXPECT_NEAR(scale[0][0], scale[1][0], 1e-3 * std::fabs(scale[0][0]));
  EXPECT_NEAR(scale[0][1], scale[1][1], 1e-3 * std::fabs(scale[0][1]));
  EXPECT_NEAR(off[0][1], off[1][1], 0.02);  // same vertical placement
}

TEST(ReportEmbedding, MetricsGetBarsTableAndCurveForEmbeddingRunsOnly) {
  const Page p = embedding_page();
  const auto bars = charts(p.html, "metric-before-after");
  ASSERT_EQ(bars.size(), 1u);
  for (const char* key : {"ndcg@10", "mrr@10", "recall@1", "recall@10", "recall@100", "map@100"}) {
    EXPECT_EQ(elements(bars[0], "rect", {"class=\"bar\"", "data-run=\"0\"", std::string("data-metric=\"") + key + "\""}).size(), 2u)
        << key;
  }
  EXPECT_EQ(elements(bars[0], "rect", {"class=\"bar\""}).size(), 12u);  // none for the LLM run, no STS
  // The evaluation-loss bars are the LLM run's only.
  const auto eval = charts(p.html, "eval-before-after").at(0);
  EXPECT_EQ(elements(eval, "rect", {"class=\"bar\"", "data-run=\"0\""}).size(), 0u);
  EXPECT_EQ(elements(eval, "rect", {"class=\"bar\"", "data-run=\"1\""}).size(), 2u);
  const auto curve = charts(p.html, "metric-steps-ndcg@10").at(0);
  EXPECT_EQ(elements(curve, "circle", {"class=\"eval-point\"", "data-run=\"0\""}).size(), 3u);
  ASSERT_NE(p.html.find("<table class=\"comparison metrics\">"), std::string::npos);
  EXPECT_NE(p.html.find("0.3000 → 0.5000"), std::string::npos);  // nDCG@10 before → after
}

TEST(ReportEmbedding, ARunKeepsItsColourInEveryEmbeddingChart) {
  const Page p = embedding_page();
  std::map<std::string, std::set<std::string>> colours;
  for (const char* kind : {"train-loss-steps", "metric-before-after", "metric-steps-ndcg@10", "pca"})
    for (const std::string& c : charts(p.html, kind)) {
      for (const auto& t : elements(c, "polyline", {"data-run="})) colours[attr(t, "data-run")].insert(attr(t, "stroke"));
      for (const auto& t : elements(c, "rect", {"class=\"bar\""})) colours[attr(t, "data-run")].insert(attr(t, "fill"));
      for (const auto& t : elements(c, "circle", {"data-run="})) colours[attr(t, "data-run")].insert(attr(t, "fill"));
      for (const auto& t : elements(c, "rect", {"class=\"pca-doc\""})) colours[attr(t, "data-run")].insert(attr(t, "stroke"));
    }
  for (const auto& t : elements(charts(p.html, "cosine-histogram").at(0), "rect", {"data-pairs=\"positive\""}))
    colours[attr(t, "data-run")].insert(attr(t, "fill"));
  ASSERT_EQ(colours["0"].size(), 1u);
  ASSERT_EQ(colours["1"].size(), 1u);
  EXPECT_EQ(*colours["0"].begin(), method_colour("lora"));
  EXPECT_EQ(*colours["1"].begin(), method_colour("full"));
}

TEST(ReportEmbedding, AnUnfinishedRunTakesMetricsFromItsEvaluations) {
  const std::string d = test::temp_dir("report_emb_cut");
  write_embedding_run(d + "/r", false);
  const RunData r = read_run(d + "/r");
  ASSERT_FALSE(r.metrics.empty());
  EXPECT_EQ(r.metrics[0].key, "ndcg@10");
  EXPECT_DOUBLE_EQ(r.metrics[0].before, 0.3);
  EXPECT_DOUBLE_EQ(r.metrics[0].after, 0.5);
}

TEST(ReportEmbedding, ABrokenEvaluationFileIsSkippedAndSaid) {
  const std::string d = test::temp_dir("report_emb_bad");
  write_embedding_run(d + "/r");
  std::string e = test::read_file(d + "/r/embedding_eval.json");
  test::write_file(d + "/r/embedding_eval.json", e.substr(0, e.size() / 2));  // cut mid-write
  const RunData r = read_run(d + "/r");
  EXPECT_FALSE(r.embedding.present);
  ASSERT_EQ(r.notes.size(), 1u);
  EXPECT_NE(r.notes[0].find("embedding_eval.json (not a JSON object)"), std::string::npos) << r.notes[0];
  const std::string html = render_page({r}, PageOptions{});
  EXPECT_EQ(test::xml_problem(html), "");
  EXPECT_TRUE(charts(html, "pca").empty());
  EXPECT_EQ(charts(html, "metric-before-after").size(), 1u);  // the metrics are still drawn
  // Ragged vectors: that field is left out, the rest kept.
  nlohmann::json j = nlohmann::json::parse(e);
  j["after"]["queries"][3].push_back(1.0);
  test::write_file(d + "/r/embedding_eval.json", j.dump());
  const RunData r2 = read_run(d + "/r");
  EXPECT_TRUE(r2.embedding.present);
  EXPECT_TRUE(r2.embedding.after.queries.empty());
  EXPECT_EQ(r2.embedding.after.documents.size(), 30u);
  ASSERT_EQ(r2.notes.size(), 1u);
  EXPECT_NE(r2.notes[0].find("after.queries"), std::string::npos) << r2.notes[0];
}

}  // namespace
}  // namespace peft::report

namespace peft::report {
namespace {

TEST(ReportEmbedding, ProvenanceFallsBackToTheCheckpointAndTheAdapter) {
  // A summary without model, data or settings: the run record of a
  // checkpoint and the adapter's base model say what produced the run.
  const std::string d = test::temp_dir("report_emb_prov");
  write_embedding_run(d + "/r");
  std::filesystem::create_directories(d + "/r/checkpoint-5");
  test::write_file(d + "/r/checkpoint-5/trainer_state.json",
                   nlohmann::json{{"run_config", {{"method", "lora"}, {"data", "manpages-ir"}, {"lr", 0.005}}}}.dump());
  test::write_file(d + "/r/adapter_config.json", nlohmann::json{{"base_model_name_or_path", "stories260K.gguf"}}.dump());
  const RunData r = read_run(d + "/r");
  EXPECT_EQ(r.text("data"), "manpages-ir");
  EXPECT_EQ(r.text("model"), "stories260K.gguf");
  const std::string html = render_page({r}, PageOptions{});
  EXPECT_NE(html.find("<dt>model</dt><dd>stories260K.gguf</dd>"), std::string::npos);
  EXPECT_NE(html.find("lr 0.005"), std::string::npos);
}

}  // namespace
}  // namespace peft::report
