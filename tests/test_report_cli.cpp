// `peft report` end to end: real runs of peft train drawn into a page with a
// heat-map cell per adapted module, and bad input answered with one line.
#include <gtest/gtest.h>

#include <filesystem>

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
