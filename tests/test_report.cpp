// The report library (src/report/): reading run folders, and the page it
// draws — well-formed, self-contained, with one point per record, one bar
// per number, one heat-map cell per adapted module and one colour per method
// across every chart.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"
#include "html_check.h"
#include "report/colors.h"
#include "report/curves.h"
#include "report/page.h"
#include "report/run.h"
#include "test_util.h"

namespace peft::report {
namespace {

using test::attr;
using test::charts;
using test::elements;

// A run folder as peft train writes it: `steps` training records, evaluations
// at `evals`, and a summary (unless `summary` is false).
std::string write_run(const std::string& dir, const std::string& method, int steps, const std::vector<int>& evals,
                      bool summary = true) {
  std::string m;
  auto eval = [&](int s) { m += nlohmann::json{{"step", s}, {"eval_loss", 4.0 - 0.1 * s}}.dump() + "\n"; };
  auto has = [&](int s) { return std::find(evals.begin(), evals.end(), s) != evals.end(); };
  if (has(0)) eval(0);
  for (int s = 1; s <= steps; ++s) {
    m += nlohmann::json{{"step", s}, {"loss", 5.0 - 0.1 * s + 0.05 * (s % 2)}, {"lr", 1e-3}, {"tokens", 256 * s}}.dump() + "\n";
    if (has(s)) eval(s);
  }
  std::filesystem::create_directories(dir);
  test::write_file(dir + "/metrics.jsonl", m);
  if (summary) {
    nlohmann::json j{{"method", method},
                     {"trainable_parameters", method == "full" ? 1000 : 100},
                     {"total_parameters", 1000},
                     {"steps", steps},
                     {"tokens", 256 * steps},
                     {"eval_loss_before", 4.0},
                     {"eval_loss_after", 3.5},
                     {"tokens_per_second", 1234.5},
                     {"final_train_loss", 3.4},
                     {"memory_bytes", {{"weights", 4000}, {"gradients", 400}, {"optimizer", 800}, {"activations", 5000}}},
                     {"model", "m.gguf"},
                     {"data", "d.txt"},
                     {"settings", {{"lr", 0.001}, {"steps", steps}}},
                     {"layers",
                      {{{"name", "blk.0.attn_q"},
                        {"module", "q"},
                        {"out", 64},
                        {"in", 64},
                        {"trainable",
                         {{{"name", "lora_A"}, {"shape", {8, 64}}, {"group", "lora_A"}},
                          {{"name", "lora_B"}, {"shape", {64, 8}}, {"group", "lora_B"}}}}}}}};
    test::write_file(dir + "/summary.json", j.dump(2));
  }
  return dir;
}

std::vector<HeatCell> cells(int layers, const std::vector<std::string>& modules) {
  std::vector<HeatCell> out;
  for (int b = 0; b < layers; ++b)
    for (const auto& m : modules) out.push_back({"blk." + std::to_string(b) + "." + m, m, b, 0.01 * (b + 1)});
  return out;
}

struct Page {
  std::vector<RunData> runs;
  std::string html;
};

Page two_runs() {
  const std::string d = test::temp_dir("report");
  Page p;
  p.runs.push_back(read_run(write_run(d + "/lora", "lora", 12, {0, 6, 12})));
  p.runs.push_back(read_run(write_run(d + "/full", "full", 7, {0, 7})));
  p.runs[0].heat = cells(2, {"q", "k", "v", "o", "gate", "up", "down"});
  p.runs[1].heat = cells(3, {"q", "v"});
  p.html = render_page(p.runs, PageOptions{});
  return p;
}

TEST(Report, PageIsWellFormedAndSelfContained) {
  const Page p = two_runs();
  EXPECT_EQ(test::xml_problem(p.html), "");
  EXPECT_TRUE(test::external_references(p.html).empty()) << test::external_references(p.html).front();
  // Every chart on its own is well-formed too (what a reader would cut out).
  const std::vector<std::string> svgs = elements(p.html, "svg", {"class=\"chart\""});
  EXPECT_GE(svgs.size(), 12u);
  for (const char* kind : {"train-loss-steps", "train-loss-tokens", "eval-loss-steps", "eval-loss-tokens", "trainable",
                           "memory", "throughput", "eval-before-after"})
    for (const std::string& svg : charts(p.html, kind)) EXPECT_EQ(test::xml_problem(svg), "") << kind;
}

TEST(Report, TheCheckersCatchWhatTheyLookFor) {
  // The checks above could pass by accident if the checkers saw nothing.
  EXPECT_NE(test::xml_problem("<svg><g></svg>"), "");
  EXPECT_NE(test::xml_problem("<svg><text>a < b</text></svg>"), "");
  EXPECT_NE(test::xml_problem("<rect x=1/>"), "");
  EXPECT_EQ(test::external_references("<img src=\"https://x/y.png\">").size(), 1u);
  EXPECT_EQ(test::external_references("<a href='//cdn.example/x.js'>").size(), 1u);
  EXPECT_EQ(test::external_references("<style>@import 'x.css'</style>").size(), 1u);
  EXPECT_TRUE(test::external_references("<a href=\"#top\">").empty());
}

TEST(Report, CurvesHaveOnePointPerRecord) {
  const Page p = two_runs();
  for (const char* kind : {"train-loss-steps", "train-loss-tokens"}) {
    const auto c = charts(p.html, kind);
    ASSERT_EQ(c.size(), 1u) << kind;
    for (const char* cls : {"smooth", "raw"}) {
      const auto r0 = elements(c[0], "polyline", {std::string("class=\"") + cls + "\"", "data-run=\"0\""});
      const auto r1 = elements(c[0], "polyline", {std::string("class=\"") + cls + "\"", "data-run=\"1\""});
      ASSERT_EQ(r0.size(), 1u);
      ASSERT_EQ(r1.size(), 1u);
      EXPECT_EQ(test::point_count(r0[0]), 12u) << kind << " " << cls;
      EXPECT_EQ(test::point_count(r1[0]), 7u) << kind << " " << cls;
    }
  }
  for (const char* kind : {"eval-loss-steps", "eval-loss-tokens"}) {
    const auto c = charts(p.html, kind);
    ASSERT_EQ(c.size(), 1u);
    EXPECT_EQ(elements(c[0], "circle", {"class=\"eval-point\"", "data-run=\"0\""}).size(), 3u) << kind;
    EXPECT_EQ(elements(c[0], "circle", {"class=\"eval-point\"", "data-run=\"1\""}).size(), 2u) << kind;
  }
}

TEST(Report, BarsPerRun) {
  const Page p = two_runs();
  const std::map<std::string, size_t> per_run{
      {"trainable", 1}, {"memory", 4}, {"throughput", 1}, {"eval-before-after", 2}};
  for (const auto& [kind, n] : per_run) {
    const auto c = charts(p.html, kind);
    ASSERT_EQ(c.size(), 1u) << kind;
    for (int r = 0; r < 2; ++r)
      EXPECT_EQ(elements(c[0], "rect", {"class=\"bar\"", "data-run=\"" + std::to_string(r) + "\""}).size(), n)
          << kind << " run " << r;
  }
}

TEST(Report, HeatMapHasOneCellPerAdaptedModule) {
  const Page p = two_runs();
  const auto maps = charts(p.html, "heatmap");
  ASSERT_EQ(maps.size(), 2u);
  EXPECT_EQ(elements(maps[0], "rect", {"class=\"cell\""}).size(), 14u);  // 2 layers x 7 modules
  EXPECT_EQ(elements(maps[1], "rect", {"class=\"cell\""}).size(), 6u);   // 3 layers x q, v
  // The largest update is drawn in the run's full colour.
  const std::string colour = run_colours(p.runs)[0];
  EXPECT_EQ(elements(maps[0], "rect", {"class=\"cell\"", "data-layer=\"blk.1.q\"", "fill=\"" + colour + "\""}).size(), 1u);
}

TEST(Report, EachMethodKeepsItsColourAcrossCharts) {
  const Page p = two_runs();
  std::map<std::string, std::set<std::string>> colour_of_run;  // data-run -> colours used for it
  for (const char* kind : {"train-loss-steps", "train-loss-tokens", "eval-loss-steps", "trainable", "throughput",
                           "eval-before-after"}) {
    for (const std::string& c : charts(p.html, kind)) {
      for (const auto& t : elements(c, "polyline", {"data-run="})) colour_of_run[attr(t, "data-run")].insert(attr(t, "stroke"));
      for (const auto& t : elements(c, "rect", {"class=\"bar\""})) colour_of_run[attr(t, "data-run")].insert(attr(t, "fill"));
      for (const auto& t : elements(c, "circle", {"data-run="})) colour_of_run[attr(t, "data-run")].insert(attr(t, "fill"));
    }
  }
  for (const auto& t : elements(charts(p.html, "memory")[0], "rect", {"data-part=\"gradients\""}))
    colour_of_run[attr(t, "data-run")].insert(attr(t, "fill"));
  ASSERT_EQ(colour_of_run["0"].size(), 1u);
  ASSERT_EQ(colour_of_run["1"].size(), 1u);
  EXPECT_NE(*colour_of_run["0"].begin(), *colour_of_run["1"].begin());
  EXPECT_EQ(*colour_of_run["0"].begin(), method_colour("lora"));
  EXPECT_EQ(*colour_of_run["1"].begin(), method_colour("full"));
}

TEST(Report, RunsOfOneMethodGetShadesOfItsColour) {
  std::vector<RunData> runs(3);
  runs[0].method = "lora";
  runs[1].method = "lora";
  runs[2].method = "vera";
  const auto c = run_colours(runs);
  EXPECT_NE(c[0], c[1]);
  EXPECT_EQ(c[2], method_colour("vera"));
}

TEST(Report, MissingFolderAndNonRunAreOneLineErrors) {
  const std::string d = test::temp_dir("report_bad");
  for (const std::string& dir : {d + "/nope", d}) {
    try {
      read_run(dir);
      FAIL() << dir;
    } catch (const InputError& e) {
      const std::string m = e.what();
      EXPECT_EQ(m.rfind("[report] ", 0), 0u) << m;
      EXPECT_EQ(m.find('\n'), std::string::npos) << m;
    }
  }
}

TEST(Report, TruncatedMetricsKeepTheValidLinesAndSaySo) {
  const std::string d = test::temp_dir("report_trunc");
  write_run(d + "/r", "lora", 5, {0}, false);
  std::string m = test::read_file(d + "/r/metrics.jsonl");
  m += "{\"step\": 6, \"loss\": 3.";  // cut mid-line, as a killed run leaves it
  test::write_file(d + "/r/metrics.jsonl", m);
  const RunData r = read_run(d + "/r");
  EXPECT_EQ(r.train.size(), 5u);
  EXPECT_EQ(r.method, "unknown");
  bool said = false;
  for (const auto& n : r.notes) said = said || n.find("skipped 1 unreadable line") != std::string::npos;
  EXPECT_TRUE(said);
  const std::string html = render_page({r}, PageOptions{});
  EXPECT_EQ(test::xml_problem(html), "");
  EXPECT_NE(html.find("skipped 1 unreadable line"), std::string::npos);
}

TEST(Report, SmoothingIsABiasCorrectedMovingAverage) {
  // Hand-computed: w = 0.5 over 2, 4: m1 = 1, s1 = 1/(1-0.5) = 2;
  // m2 = 0.5 + 2 = 2.5, s2 = 2.5 / 0.75 = 3.3333.
  const auto s = smooth({2, 4}, 0.5);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_DOUBLE_EQ(s[0], 2.0);
  EXPECT_NEAR(s[1], 10.0 / 3.0, 1e-12);
}

}  // namespace
}  // namespace peft::report
