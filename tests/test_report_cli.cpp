// `peft report` end to end: real runs of peft train (LLM and embedding)
// drawn into a page with a heat-map cell per adapted module, every
// embedding pair and vector, and bad input answered with one line.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "html_check.h"
#include "test_util.h"

namespace peft::test {
namespace {

std::string train(const std::string& out, const std::string& method, const std::string& extra_targets = "all-linear") {
  std::vector<std::string> args{"train", "-m", shared_path("models/stories260K.gguf"), "-d",
                                shared_path("data/tinyshakespeare/input.txt"), "--method", method, "--steps", "4",
                                "--seq-len", "32", "-b", "2", "--eval-windows", "2", "--eval-every", "2", "-q",
                                "-o", out};
  if (method != "full") {
    args.push_back("--targets");
    args.push_back(extra_targets);
  }
  CliResult r = run_cli(args);
  EXPECT_EQ(r.rc, 0) << r.err;
  return out;
}

TEST(ReportCli, RealRunsGiveAWellFormedPageWithAHeatCellPerAdaptedModule) {
  const std::string d = temp_dir("report_cli");
  train(d + "/lora", "lora");
  train(d + "/vera", "vera", "q,v");
  train(d + "/full", "full");
  CliResult r = run_cli({"report", d + "/lora", d + "/vera", d + "/full", "-o", d + "/report.html"});
  ASSERT_EQ(r.rc, 0) << r.err;
  const std::string html = read_file(d + "/report.html");
  EXPECT_EQ(xml_problem(html), "");
  EXPECT_TRUE(external_references(html).empty());
  const auto maps = charts(html, "heatmap");
  ASSERT_EQ(maps.size(), 3u);
  // stories260K: 5 layers. all-linear: 7 modules each; q,v: 2; full: every linear changed.
  EXPECT_EQ(elements(maps[0], "rect", {"class=\"cell\""}).size(), 35u);
  EXPECT_EQ(elements(maps[1], "rect", {"class=\"cell\""}).size(), 10u);
  EXPECT_EQ(elements(maps[2], "rect", {"class=\"cell\""}).size(), 35u);
  // Four training steps per run, drawn as four points each.
  const auto c = charts(html, "train-loss-steps");
  ASSERT_EQ(c.size(), 1u);
  for (const char* run : {"0", "1", "2"}) {
    const auto line = elements(c[0], "polyline", {"class=\"smooth\"", std::string("data-run=\"") + run + "\""});
    ASSERT_EQ(line.size(), 1u);
    EXPECT_EQ(point_count(line[0]), 4u);
  }
  // The method pictures carry the runs' shapes: stories260K's q is [64, 64], rank 8.
  EXPECT_NE(html.find("A [8, 64]"), std::string::npos);
  EXPECT_NE(html.find("B [64, 8]"), std::string::npos);
  EXPECT_NE(html.find("W [64, 64]"), std::string::npos);
}

// A real embedding run: stories260K as a mean-pooled decoder embedder,
// LoRA with mnrl on the manpages-ir training qrels for a few steps,
// evaluated on its test qrels (peft train --task embedding).
std::string train_embedding(const std::string& out) {
  CliResult r = run_cli({"train", "--task", "embedding", "--model", shared_path("models/stories260K.gguf"), "--data",
                         shared_path("data/manpages-ir"), "--eval-retrieval", shared_path("data/manpages-ir"),
                         "--method", "lora", "--loss", "mnrl", "--steps", "6", "--eval-every", "3", "--max-length",
                         "48", "--batch-size", "16", "--lr", "5e-3", "--rank", "8", "--targets", "q,k,v,o,up,down",
                         "--seed", "1", "--pooling", "mean", "-q", "--out", out});
  EXPECT_EQ(r.rc, 0) << r.err;
  return out;
}

TEST(ReportCli, RealEmbeddingRunDrawsEveryPairAndVectorAndItsMetrics) {
  const std::string d = temp_dir("report_cli_emb");
  train_embedding(d + "/emb");
  train(d + "/llm", "lora");
  CliResult r = run_cli({"report", d + "/emb", d + "/llm", "-o", d + "/report.html"});
  ASSERT_EQ(r.rc, 0) << r.err;
  const std::string html = read_file(d + "/report.html");
  EXPECT_EQ(xml_problem(html), "");
  EXPECT_TRUE(external_references(html).empty());
  const nlohmann::json e = nlohmann::json::parse(read_file(d + "/emb/embedding_eval.json"));
  const nlohmann::json s = nlohmann::json::parse(read_file(d + "/emb/summary.json"));
  // Every sampled query and document of each phase on the PCA plane, every
  // pair in the histograms.
  const auto pca = charts(html, "pca");
  ASSERT_EQ(pca.size(), 1u);
  const auto hist = charts(html, "cosine-histogram");
  ASSERT_EQ(hist.size(), 1u);
  for (const std::string phase : {"before", "after"}) {
    const std::string ph = "data-phase=\"" + phase + "\"";
    EXPECT_EQ(elements(pca[0], "circle", {"class=\"pca-query\"", ph}).size(), e[phase]["queries"].size());
    EXPECT_EQ(elements(pca[0], "rect", {"class=\"pca-doc\"", ph}).size(), e[phase]["documents"].size());
    for (const std::string pairs : {"positive", "negative"}) {
      size_t n = 0;
      for (const auto& t : elements(hist[0], "rect", {"class=\"hist-bar\"", ph, "data-pairs=\"" + pairs + "\""}))
        n += std::stoul(attr(t, "data-count"));
      EXPECT_EQ(n, e[phase][pairs + "_cos"].size()) << phase << " " << pairs;
    }
  }
  // Six retrieval metrics, two bars each, for the embedding run only; its
  // nDCG@10 at each of its three evaluations (steps 0, 3, 6).
  const auto bars = charts(html, "metric-before-after");
  ASSERT_EQ(bars.size(), 1u);
  EXPECT_EQ(elements(bars[0], "rect", {"class=\"bar\"", "data-run=\"0\""}).size(), 12u);
  EXPECT_EQ(elements(bars[0], "rect", {"class=\"bar\"", "data-run=\"1\""}).size(), 0u);
  const auto curve = charts(html, "metric-steps-ndcg@10");
  ASSERT_EQ(curve.size(), 1u);
  EXPECT_EQ(elements(curve[0], "circle", {"class=\"eval-point\"", "data-run=\"0\""}).size(), 3u);
  char want[64];
  std::snprintf(want, sizeof want, "%.4f → %.4f", s["eval_before"]["ndcg@10"].get<double>(),
                s["eval_after"]["ndcg@10"].get<double>());
  EXPECT_NE(html.find(want), std::string::npos) << want;
  // Where the update went: q,k,v,o,up,down of stories260K's 5 layers.
  const auto maps = charts(html, "heatmap");
  ASSERT_EQ(maps.size(), 2u);
  EXPECT_EQ(elements(maps[0], "rect", {"class=\"cell\""}).size(), 30u);
  // The method picture with the embedder's shapes (stories260K's q: [64, 64], rank 8).
  EXPECT_NE(html.find("A [8, 64]"), std::string::npos);
}

TEST(ReportCli, MissingFolderIsAOneLineError) {
  const std::string d = temp_dir("report_cli_missing");
  CliResult r = run_cli({"report", d + "/nope", "-o", d + "/r.html"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_EQ(r.err.rfind("error: [report] ", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_FALSE(std::filesystem::exists(d + "/r.html"));
}

TEST(ReportCli, AFolderThatIsNotARunIsAOneLineError) {
  const std::string d = temp_dir("report_cli_notrun");
  std::filesystem::create_directories(d + "/empty");
  write_file(d + "/empty/notes.txt", "hello\n");
  CliResult r = run_cli({"report", d + "/empty", "-o", d + "/r.html"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("error: [report] "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("not a run folder"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_FALSE(std::filesystem::exists(d + "/r.html"));
}

TEST(ReportCli, TruncatedMetricsDrawWhatIsValidAndSayWhatWasSkipped) {
  const std::string d = temp_dir("report_cli_trunc");
  train(d + "/run", "lora");
  std::string m = read_file(d + "/run/metrics.jsonl");
  m = m.substr(0, m.size() - 20);  // the last line cut short
  write_file(d + "/run/metrics.jsonl", m);
  CliResult r = run_cli({"report", d + "/run", "-o", d + "/r.html"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.err.find("skipped 1 unreadable line"), std::string::npos) << r.err;
  const std::string html = read_file(d + "/r.html");
  EXPECT_EQ(xml_problem(html), "");
  EXPECT_NE(html.find("skipped 1 unreadable line"), std::string::npos);
}

}  // namespace
}  // namespace peft::test
