// The search page of a real `peft serve` used in headless Chromium the way
// a person uses it (scripts/drive-page.py, the path docs/serve-screenshot.sh
// makes the docs' picture with): type a query, pick the mode, press Enter,
// see the results the API gives, with the query's words marked; no script
// error, no request outside the service, and a screenshot that is not
// blank. Needs the CTest fixture "browser".
#include <gtest/gtest.h>
#include <httplib.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "png_check.h"
#include "serve_process.h"
#include "test_util.h"

namespace peft::test {
namespace {

using Json = nlohmann::json;

std::string browser() {
  const char* b = std::getenv("PEFT_BROWSER");
  if (!b || !*b) ADD_FAILURE() << "PEFT_BROWSER is not set (the CTest fixture 'browser' sets it up)";
  return b ? b : "";
}

CliResult drive(const std::string& url, const std::string& query, const std::string& mode, const std::string& png,
                const std::string& timeout_s = "60") {
  return run_program("/usr/bin/python3", {std::string(PEFT_SOURCE_DIR) + "/scripts/drive-page.py", url, query, png,
                                          "--mode", mode, "--browser", browser(), "--size", "1200,900", "--timeout",
                                          timeout_s});
}

TEST(ServeBrowser, TypingAQueryShowsTheApisResults) {
  const std::string d = temp_dir("serve-browser");
  const std::string idx = build_manpages_index(d, 60);
  ServeProcess s(idx);
  ASSERT_GT(s.port(), 0);
  httplib::Client c("127.0.0.1", s.port());
  c.set_read_timeout(60, 0);
  for (const std::string mode : {"hybrid", "bm25", "vector"}) {
    const std::string png = d + "/" + mode + ".png";
    CliResult r = drive(s.url(), "terminal login", mode, png);
    ASSERT_EQ(r.rc, 0) << r.err << r.out;
    const Json page = Json::parse(r.out);
    EXPECT_TRUE(page["errors"].empty()) << page["errors"];
    EXPECT_EQ(page["state"], "done");
    // The status line comes from /health.
    EXPECT_NE(page["status_line"].get<std::string>().find("60 documents"), std::string::npos) << page;
    // The page lists what the API answers for the same query, in order.
    // (httplib's client would send a '+' as %2B, a plus sign; the page sends a space.)
    auto api = c.Get("/search?q=terminal%20login&k=10&mode=" + mode);
    ASSERT_TRUE(api && api->status == 200);
    const Json want = Json::parse(api->body)["results"];
    ASSERT_EQ(page["results"].size(), want.size()) << mode;
    ASSERT_FALSE(want.empty());
    size_t marked = 0;
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(page["results"][i]["id"], want[i]["id"]) << mode << " " << i;
      for (const auto& m : page["results"][i]["marks"]) {
        std::string w = m.get<std::string>();
        for (char& ch : w) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        EXPECT_TRUE(w.rfind("term", 0) == 0 || w.rfind("log", 0) == 0) << w;
        ++marked;
      }
    }
    if (mode != "vector") {
      EXPECT_GT(marked, 0u) << mode;  // BM25 hits contain the words
    }
    // The address holds the search, so it can be shared.
    EXPECT_NE(page["address"].get<std::string>().find("q=terminal+login&mode=" + mode), std::string::npos) << page;
    // Nothing fetched from anywhere but the service.
    for (const auto& u : page["requests"]) EXPECT_EQ(u.get<std::string>().rfind(s.url(), 0), 0u) << u;
    const Look l = look(read_png(read_file(png)));
    EXPECT_GT(l.colours, 50u) << mode;
    EXPECT_GT(l.not_background, 0.05) << mode;
  }
  EXPECT_EQ(s.stop(), 0) << s.err();
}

TEST(ServeBrowser, AnErrorOrAnEmptyListIsCaught) {
  const std::string d = temp_dir("serve-browser-bad");
  const std::string idx = build_manpages_index(d, 10);
  ServeProcess s(idx);
  // A query no document contains: BM25 finds nothing, the driver says so.
  CliResult none = drive(s.url(), "zzzqqqxxyy", "bm25", d + "/none.png");
  EXPECT_EQ(none.rc, 2) << none.out;
  EXPECT_NE(none.err.find("no results"), std::string::npos) << none.err;
  // A page that is not the search page: the driver fails, not hangs.
  CliResult wrong = drive(s.url() + "health", "x", "hybrid", d + "/wrong.png", "5");
  EXPECT_EQ(wrong.rc, 2) << wrong.out;
  EXPECT_NE(wrong.err.find("timed out waiting for the page to load"), std::string::npos) << wrong.err;
  EXPECT_EQ(std::count(wrong.err.begin(), wrong.err.end(), '\n'), 1) << wrong.err;
  EXPECT_EQ(s.stop(), 0) << s.err();
  // A page whose script fails when the query is submitted (it still marks
  // its list done): the script error is caught.
  write_file(d + "/throws.html",
             "<!doctype html><html><head><link rel=icon href='data:,'></head><body><div id=status>ready</div>"
             "<form id=f><input id=q><label><input type=radio name=mode value=hybrid checked>h</label></form>"
             "<div id=message></div><ol id=results data-state=idle></ol><script>"
             "document.getElementById('f').addEventListener('submit', function (e) { e.preventDefault();"
             " document.getElementById('results').dataset.state = 'done'; nosuch(); });</script></body></html>");
  CliResult thrown = drive("file://" + d + "/throws.html", "x", "hybrid", d + "/throws.png", "10");
  EXPECT_EQ(thrown.rc, 2) << thrown.out;
  EXPECT_NE(thrown.err.find("nosuch"), std::string::npos) << thrown.err;
}

}  // namespace
}  // namespace peft::test
