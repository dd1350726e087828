// The report of a real short run rendered by headless Chromium
// (scripts/render-page.sh, the path docs/screenshots.sh makes the README's
// pictures with): the page's script must finish without errors and the
// screenshot must not be blank. Needs the CTest fixture "browser".
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <set>

#include "png_check.h"
#include "test_util.h"

namespace peft::test {
namespace {

std::string browser() {
  const char* b = std::getenv("PEFT_BROWSER");
  if (!b || !*b) ADD_FAILURE() << "PEFT_BROWSER is not set (the CTest fixture 'browser' sets it up)";
  return b ? b : "";
}

CliResult render(const std::string& page, const std::string& png) {
  return run_program("/bin/bash", {std::string(PEFT_SOURCE_DIR) + "/scripts/render-page.sh", page, png, "1200,1400", browser()});
}

TEST(ReportBrowser, RealRunRendersWithoutErrorsAndIsNotBlank) {
  const std::string d = temp_dir("report_browser");
  CliResult t = run_cli({"train", "-m", shared_path("models/stories260K.gguf"), "-d",
                         shared_path("data/tinyshakespeare/input.txt"), "--steps", "6", "--seq-len", "32", "-b", "2",
                         "--eval-windows", "2", "--eval-every", "3", "--targets", "all-linear", "-q", "-o", d + "/run"});
  ASSERT_EQ(t.rc, 0) << t.err;
  CliResult r = run_cli({"report", d + "/run", "-o", d + "/report.html"});
  ASSERT_EQ(r.rc, 0) << r.err;
  CliResult shot = render(d + "/report.html", d + "/report.png");
  ASSERT_EQ(shot.rc, 0) << shot.err;
  const Look l = look(read_png(read_file(d + "/report.png")));
  EXPECT_GT(l.colours, 50u);
  EXPECT_GT(l.not_background, 0.01);
}

TEST(ReportBrowser, RealEmbeddingRunRendersWithoutErrorsAndIsNotBlank) {
  // peft train --task embedding, short: histograms, PCA and metric bars
  // drawn by Chromium.
  const std::string d = temp_dir("report_browser_emb");
  CliResult t = run_cli({"train", "--task", "embedding", "--model", shared_path("models/stories260K.gguf"), "--data",
                         shared_path("data/manpages-ir"), "--eval-retrieval", shared_path("data/manpages-ir"),
                         "--method", "lora", "--steps", "4", "--eval-every", "2", "--max-length", "48",
                         "--batch-size", "16", "--lr", "5e-3", "--pooling", "mean", "-q", "--out", d + "/emb"});
  ASSERT_EQ(t.rc, 0) << t.err;
  CliResult r = run_cli({"report", d + "/emb", "-o", d + "/report.html"});
  ASSERT_EQ(r.rc, 0) << r.err;
  const std::string html = read_file(d + "/report.html");
  ASSERT_NE(html.find("data-chart=\"pca\""), std::string::npos);
  ASSERT_NE(html.find("data-chart=\"cosine-histogram\""), std::string::npos);
  CliResult shot = render(d + "/report.html", d + "/report.png");
  ASSERT_EQ(shot.rc, 0) << shot.err;
  const Look l = look(read_png(read_file(d + "/report.png")));
  EXPECT_GT(l.colours, 50u);
  EXPECT_GT(l.not_background, 0.01);
}

TEST(ReportBrowser, AScriptErrorOrABlankPageIsCaught) {
  const std::string d = temp_dir("report_browser_bad");
  // The same marker protocol as the report, with an error after it loads.
  write_file(d + "/error.html",
             "<!DOCTYPE html><html><head><script>document.documentElement.setAttribute('data-report-status','loading');"
             "window.addEventListener('error',function(e){document.documentElement.setAttribute('data-report-status',"
             "'error: '+e.message);});</script></head><body><p>x</p><script>nosuch();"
             "document.documentElement.setAttribute('data-report-status','ok 0');</script></body></html>");
  CliResult e = render(d + "/error.html", d + "/error.png");
  EXPECT_EQ(e.rc, 2);
  EXPECT_NE(e.err.find("nosuch"), std::string::npos) << e.err;
  // A page that says it is fine but draws nothing: the PNG check must see it.
  write_file(d + "/blank.html", "<!DOCTYPE html><html data-report-status=\"ok 0\"><body></body></html>");
  CliResult b = render(d + "/blank.html", d + "/blank.png");
  ASSERT_EQ(b.rc, 0) << b.err;
  const Look l = look(read_png(read_file(d + "/blank.png")));
  EXPECT_LE(l.colours, 2u);
  EXPECT_LT(l.not_background, 0.001);
}

}  // namespace
}  // namespace peft::test
