// The search service's API without HTTP (search/service_api.h): routing,
// validation, limits, JSON shapes, and snippets with marked matches, against
// the in-memory test double. The HTTP transport and the real index are
// tested in test_serve_http.cpp and test_serve_cli.cpp.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "fake_service_backend.h"
#include "test_util.h"
#include "search/service_api.h"
#include "search/snippet.h"

using namespace peft;
using namespace peft::search;
using Json = nlohmann::json;

namespace {

// The text a highlight [a, b) of `s` covers, in code points.
std::string cut_cp(const std::string& s, int64_t a, int64_t b) {
  std::string out;
  int64_t cp = -1;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) ++cp;
    if (cp >= a && cp < b) out.push_back(static_cast<char>(c));
  }
  return out;
}

struct Fixture {
  test::FakeServiceBackend backend;
  SearchService service{backend};
  Fixture() {
    backend.docs["grep.1"] = {"grep.1", "grep", "grep searches the named input files for lines containing a match to the given patterns.",
                              Json{{"section", "1"}}};
    backend.docs["ls.1"] = {"ls.1", "ls", "List information about the files in the current directory.", Json{{"section", "1"}}};
    backend.docs["open.2"] = {"open.2", "open", "The open() system call opens the file specified by pathname.",
                              Json{{"section", "2"}}};
  }
  ApiResponse call(const std::string& method, const std::string& path, const std::string& body = "",
                   std::multimap<std::string, std::string> params = {}) {
    return service.handle({method, path, std::move(params), body});
  }
};

Json body(const ApiResponse& r) { return Json::parse(r.body); }

}  // namespace

TEST(Snippet, MarksWholeWordsAndNearForms) {
  const auto terms = query_terms("File GREP, files");
  ASSERT_EQ(terms, (std::vector<std::string>{"file", "grep", "files"}));
  const Snippet s = make_snippet("grep   searches\n the named input files;\tprofile", terms);
  EXPECT_EQ(s.text, "grep searches the named input files; profile");
  std::vector<std::string> marked;
  for (auto [a, b] : s.highlights) marked.push_back(cut_cp(s.text, a, b));
  // "profile" contains "file" but is another word: not marked.
  EXPECT_EQ(marked, (std::vector<std::string>{"grep", "files"}));
}

TEST(Snippet, FunctionWordsAreNotMarkedUnlessTheQueryHasNothingElse) {
  EXPECT_EQ(query_terms("list of terminals root may login on"),
            (std::vector<std::string>{"list", "terminals", "root", "login"}));
  EXPECT_EQ(query_terms("to be or not to be"), (std::vector<std::string>{"not"}));
  EXPECT_EQ(query_terms("The Of"), (std::vector<std::string>{"the", "of"}));
}

TEST(Snippet, OffsetsAreCodePointsAndWindowFindsTheMatch) {
  std::string text;
  for (int i = 0; i < 80; ++i) text += "café naïve filler ";
  text += "the needle is here";
  for (int i = 0; i < 80; ++i) text += " more text";
  const Snippet s = make_snippet(text, query_terms("needle"), 120);
  ASSERT_EQ(s.highlights.size(), 1u);
  EXPECT_EQ(cut_cp(s.text, s.highlights[0].first, s.highlights[0].second), "needle");
  EXPECT_EQ(s.text.rfind("\xE2\x80\xA6 ", 0), 0u) << "cut at the start: " << s.text;
  EXPECT_LE(s.text.size(), 120u + 8);
  // No match: the start of the text, no highlights.
  const Snippet none = make_snippet(text, query_terms("absent"), 60);
  EXPECT_TRUE(none.highlights.empty());
  EXPECT_EQ(none.text.rfind("café", 0), 0u);
}

TEST(Snippet, PrefersTheWindowWithMoreDistinctTerms) {
  std::string text = "alpha";
  for (int i = 0; i < 60; ++i) text += " filler";
  text += " alpha beta gamma";
  for (int i = 0; i < 60; ++i) text += " filler";
  const Snippet s = make_snippet(text, query_terms("alpha beta gamma"), 100);
  ASSERT_EQ(s.highlights.size(), 3u);
  EXPECT_NE(s.text.find("alpha beta gamma"), std::string::npos);
}

TEST(SearchService, GetSearchReturnsHitsWithSnippets) {
  Fixture f;
  const ApiResponse r = f.call("GET", "/search", "", {{"q", "grep files"}, {"k", "2"}, {"mode", "bm25"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, "application/json");
  const Json j = body(r);
  EXPECT_EQ(j["mode"], "bm25");
  EXPECT_EQ(j["k"], 2);
  ASSERT_EQ(j["results"].size(), 2u);
  const Json& top = j["results"][0];
  EXPECT_EQ(top["id"], "grep.1");
  EXPECT_EQ(top["title"], "grep");
  EXPECT_EQ(top["metadata"]["section"], "1");
  EXPECT_DOUBLE_EQ(top["score"].get<double>(), 2.0);
  const std::string snip = top["snippet"];
  std::vector<std::string> marked;
  for (const Json& h : top["highlights"]) marked.push_back(cut_cp(snip, h[0], h[1]));
  EXPECT_EQ(marked, (std::vector<std::string>{"grep", "files"}));
}

TEST(SearchService, PostSearchWithWhere) {
  Fixture f;
  ApiResponse r = f.call("POST", "/search", R"({"q": "file", "k": 5, "mode": "bm25", "where": {"section": 2}})");
  ASSERT_EQ(r.status, 200) << r.body;
  Json j = body(r);
  ASSERT_EQ(j["results"].size(), 1u);
  EXPECT_EQ(j["results"][0]["id"], "open.2");
  EXPECT_EQ(j["where"]["section"], "2");
  r = f.call("POST", "/search", R"({"q": "file", "mode": "hybrid", "where": "section=1"})");
  ASSERT_EQ(r.status, 200) << r.body;
  j = body(r);
  ASSERT_EQ(j["results"].size(), 2u);
  for (const Json& h : j["results"]) EXPECT_EQ(h["metadata"]["section"], "1");
}

TEST(SearchService, BadSearchRequestsAre400WithAMessage) {
  Fixture f;
  struct Case {
    std::string method, body;
    std::multimap<std::string, std::string> params;
    std::string expect;
  };
  const std::vector<Case> cases = {
      {"GET", "", {}, "missing parameter 'q'"},
      {"GET", "", {{"q", "   "}}, "q is empty"},
      {"GET", "", {{"q", "x"}, {"k", "ten"}}, "k must be an integer"},
      {"GET", "", {{"q", "x"}, {"k", "0"}}, "k must be between 1 and 100"},
      {"GET", "", {{"q", "x"}, {"k", "101"}}, "k must be between 1 and 100"},
      {"GET", "", {{"q", "x"}, {"mode", "fuzzy"}}, "mode must be vector, bm25 or hybrid"},
      {"GET", "", {{"q", "x"}, {"where", "=1"}}, "where must be KEY=VALUE"},
      {"GET", "", {{"q", "x"}, {"where", "a key=1"}}, "the key 'a key' must be"},
      {"POST", R"({"q": "x", "where": {"a'b": "1"}})", {}, "the key 'a'b' must be"},
      {"GET", "", {{"q", "x"}, {"q", "y"}}, "given more than once"},
      {"GET", "", {{"q", "x"}, {"limit", "3"}}, "unknown parameter 'limit'"},
      {"GET", "", {{"q", std::string(5000, 'a')}}, "more than the limit of 2048"},
      {"POST", "", {}, "the request body is empty"},
      {"POST", "{\"q\": \"grep\",", {}, "malformed JSON"},
      {"POST", "[1, 2]", {}, "must be a JSON object"},
      {"POST", R"({"k": 3})", {}, "missing field 'q'"},
      {"POST", R"({"q": 7})", {}, "q must be a string"},
      {"POST", R"({"q": "x", "k": 2.5})", {}, "k must be an integer"},
      {"POST", R"({"q": "x", "mode": 1})", {}, "mode must be"},
      {"POST", R"({"q": "x", "where": [1]})", {}, "where must be"},
      {"POST", R"({"q": "x", "where": {"a": [1]}})", {}, "where.a must be"},
      {"POST", R"({"q": "x", "query": "y"})", {}, "unknown field 'query'"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.method + " " + c.body + " expecting " + c.expect);
    const ApiResponse r = f.call(c.method, "/search", c.body, c.params);
    EXPECT_EQ(r.status, 400);
    const Json j = body(r);
    ASSERT_TRUE(j.contains("error"));
    EXPECT_NE(j["error"].get<std::string>().find(c.expect), std::string::npos) << j["error"];
  }
}

TEST(SearchService, EmbedReturnsOneVectorPerText) {
  Fixture f;
  ApiResponse r = f.call("POST", "/embed", R"({"texts": ["abc", "zzz"]})");
  ASSERT_EQ(r.status, 200) << r.body;
  const Json j = body(r);
  EXPECT_EQ(j["dims"], test::FakeServiceBackend::kDims);
  EXPECT_EQ(j["model"], "fake-letters");
  ASSERT_EQ(j["vectors"].size(), 2u);
  EXPECT_EQ(j["vectors"][1].get<std::vector<float>>(), test::FakeServiceBackend::letters("zzz"));
  for (const std::string bad : {R"({"texts": []})", R"({"texts": "abc"})", R"({"texts": [1]})", R"({"text": ["a"]})", "nope"})
    EXPECT_EQ(f.call("POST", "/embed", bad).status, 400) << bad;
  std::string many = R"({"texts": [)";
  for (int i = 0; i < 257; ++i) many += std::string(i ? "," : "") + "\"t\"";
  r = f.call("POST", "/embed", many + "]}");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(body(r)["error"].get<std::string>().find("limit of 256"), std::string::npos);
}

TEST(SearchService, AddThenDeleteDocuments) {
  Fixture f;
  ApiResponse r = f.call("POST", "/documents",
                         R"([{"id": "cat.1", "title": "cat", "text": "concatenate files", "section": "1"},
                             {"_id": "tac.1", "text": "reverse cat"}])");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body(r), (Json{{"added", 2}, {"replaced", 0}, {"documents", 5}}));
  EXPECT_EQ(f.backend.docs["cat.1"].metadata, (Json{{"section", "1"}}));
  EXPECT_EQ(f.backend.docs["tac.1"].title, "");
  // The same id again replaces the document.
  r = f.call("POST", "/documents", R"({"documents": [{"id": "cat.1", "text": "concatenate and print"}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body(r), (Json{{"added", 0}, {"replaced", 1}, {"documents", 5}}));
  EXPECT_EQ(f.backend.docs["cat.1"].text, "concatenate and print");
  // What the backend refuses is a 400 with its message, and nothing changes.
  r = f.call("POST", "/documents", R"([{"id": "new", "text": "x"}, {"id": "cat.1", "text": "refuse me"}])");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(body(r)["error"].get<std::string>().find("[index] document 'cat.1' refused"), std::string::npos);
  EXPECT_EQ(f.backend.docs.count("new"), 0u);
  r = f.call("DELETE", "/documents/cat.1");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body(r), (Json{{"deleted", "cat.1"}, {"documents", 4}}));
  r = f.call("DELETE", "/documents/cat.1");
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(body(r)["error"].get<std::string>().find("cat.1"), std::string::npos);
  for (const std::string bad :
       {R"([])", R"({"docs": []})", R"([{"text": "no id"}])", R"([{"id": "a"}])", R"([{"id": "a", "_id": "b", "text": "x"}])",
        R"([{"id": "", "text": "x"}])", R"([{"id": [1], "text": "x"}])", R"([{"id": "a", "text": "x", "title": 3}])",
        R"([{"id": "a", "text": "x"}, {"id": "a", "text": "y"}])", R"([3])"}) {
    r = f.call("POST", "/documents", bad);
    EXPECT_EQ(r.status, 400) << bad;
    EXPECT_TRUE(body(r).contains("error")) << bad;
  }
  EXPECT_EQ(f.backend.docs.size(), 4u) << "a refused request added nothing";
}

TEST(SearchService, HealthPageAndRouting) {
  Fixture f;
  ApiResponse r = f.call("GET", "/health");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(body(r), (Json{{"status", "ok"},
                           {"documents", 3},
                           {"model", "fake-letters"},
                           {"adapter", ""},
                           {"dims", 26},
                           {"read_only", false}}));
  // /info adds the limits and the backend's details.
  r = f.call("GET", "/info");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(body(r)["limits"]["max_k"], 100);
  EXPECT_EQ(body(r)["documents"], 3);
  EXPECT_TRUE(body(r)["index"].is_object());
  r = f.call("GET", "/");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  EXPECT_NE(r.body.find("<form id=\"search\""), std::string::npos);
  EXPECT_EQ(r.body.find("innerHTML"), std::string::npos) << "the page builds the DOM from text only";
  EXPECT_EQ(r.body.find("http://"), std::string::npos) << "no network assets";
  EXPECT_EQ(r.body.find("https://"), std::string::npos) << "no network assets";
  r = f.call("GET", "/nope");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(body(r)["error"], "no such path: /nope");
  r = f.call("DELETE", "/search");
  EXPECT_EQ(r.status, 405);
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0], (std::pair<std::string, std::string>{"Allow", "GET, HEAD, POST"}));
  EXPECT_EQ(f.call("GET", "/embed").status, 405);
  EXPECT_EQ(f.call("PUT", "/documents").status, 405);
  EXPECT_EQ(f.call("POST", "/documents/grep.1").status, 405);
  EXPECT_EQ(f.call("POST", "/health").status, 405);
  EXPECT_EQ(f.call("DELETE", "/documents/").status, 404);
}

TEST(SearchService, InvalidUtf8InADocumentStillGivesJson) {
  Fixture f;
  f.backend.docs["bad"] = {"bad", "t\xff", "broken \xC3 bytes grep", Json::object()};
  const ApiResponse r = f.call("GET", "/search", "", {{"q", "grep"}, {"mode", "bm25"}});
  ASSERT_EQ(r.status, 200);
  EXPECT_NO_THROW(body(r));
}

TEST(SearchService, DocumentById) {
  Fixture f;
  ApiResponse r = f.call("GET", "/documents/open.2");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body(r), (Json{{"id", "open.2"},
                           {"title", "open"},
                           {"text", "The open() system call opens the file specified by pathname."},
                           {"metadata", {{"section", "2"}}}}));
  r = f.call("GET", "/documents/close.2");
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(body(r)["error"].get<std::string>().find("close.2"), std::string::npos);
}

TEST(SearchService, ReadOnlyRefusesWritesWith403) {
  test::FakeServiceBackend backend;
  backend.docs["a"] = {"a", "", "some text", Json::object()};
  ServiceLimits limits;
  limits.read_only = true;
  SearchService service(backend, limits);
  ApiResponse r = service.handle({"POST", "/documents", {}, R"([{"id": "b", "text": "x"}])"});
  EXPECT_EQ(r.status, 403);
  EXPECT_NE(body(r)["error"].get<std::string>().find("read-only"), std::string::npos);
  EXPECT_EQ(service.handle({"DELETE", "/documents/a", {}, ""}).status, 403);
  EXPECT_EQ(backend.docs.size(), 1u);
  EXPECT_EQ(service.handle({"GET", "/search", {{"q", "text"}}, ""}).status, 200);
  EXPECT_EQ(body(service.handle({"GET", "/health", {}, ""}))["read_only"], true);
}

// fuzz_serve: a number beyond a double in a JSON body made nlohmann throw
// out_of_range, which parse_body did not catch (only parse_error): a 500
// "internal" answer to a client's typo. Replayed from its minimised input.
TEST(ServeApi, ANumberBeyondADoubleIsA400) {
  const std::string in = test::read_file(std::string(PEFT_SOURCE_DIR) + "/tests/data/fuzz/serve_number_overflow.txt");
  const size_t nl = in.find('\n');
  ASSERT_NE(nl, std::string::npos);
  Fixture f;
  const ApiResponse r = f.call("POST", "/search", in.substr(nl + 1));
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(body(r)["error"], "[serve] malformed JSON: number overflow parsing '8e9999999999'");
  const ApiResponse d = f.call("POST", "/documents", R"([{"id": "a", "text": 1e400}])");
  EXPECT_EQ(d.status, 400) << d.body;
}
