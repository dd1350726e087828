// `peft serve` end to end: the real binary on a real index (manpages-ir
// slice, stories260K embedder) over real HTTP on 127.0.0.1 with
// cpp-httplib's client: every endpoint against what `peft search`,
// `peft embed` and the corpus say, add then delete, malformed requests and
// an oversized body (the service keeps running), 200 concurrent requests
// from a bounded pool of clients beside writes, a stalled client dropped,
// a second writer refused, read-only mode, and a clean stop on SIGTERM and
// SIGINT.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <cmath>
#include <nlohmann/json.hpp>
#include <thread>

#include "serve_process.h"
#include "test_util.h"

using namespace peft::test;
using Json = nlohmann::json;

namespace {

httplib::Client client(const ServeProcess& s) {
  httplib::Client c("127.0.0.1", s.port());
  c.set_read_timeout(60, 0);  // a guard against a hang, not a timing check
  c.set_write_timeout(60, 0);
  return c;
}

// The JSON body of an answer with status `status`.
Json answer(const httplib::Result& r, int status) {
  EXPECT_TRUE(r) << httplib::to_string(r.error());
  if (!r) return Json();
  EXPECT_EQ(r->status, status) << r->body;
  EXPECT_NE(r->get_header_value("Content-Type").find("application/json"), std::string::npos) << r->body;
  return Json::parse(r->body, nullptr, false);
}

std::string encode(const std::string& s) { return httplib::detail::encode_query_param(s); }

Json get_search(httplib::Client& c, const std::string& q, const std::string& mode, int k = 10,
                const std::string& extra = "") {
  return answer(c.Get("/search?q=" + encode(q) + "&mode=" + mode + "&k=" + std::to_string(k) + extra), 200);
}

std::vector<Json> corpus_records(const std::string& path) {
  std::vector<Json> out;
  std::istringstream in(read_file(path));
  for (std::string line; std::getline(in, line);) out.push_back(Json::parse(line));
  return out;
}

// The text the index embeds and BM25-matches a record by: "title text".
std::string record_query(const Json& d) {
  const std::string title = d["title"], text = d["text"];
  return title.empty() ? text : title + " " + text;
}

void expect_error(const httplib::Result& r, int status, const std::string& part) {
  const Json j = answer(r, status);
  ASSERT_TRUE(j.is_object() && j.contains("error")) << (r ? r->body : "");
  EXPECT_NE(j["error"].get<std::string>().find(part), std::string::npos) << j;
}

TEST(ServeCli, EveryEndpointAnswersAsTheCliDoes) {
  const std::string d = temp_dir("serve-cli");
  const std::string idx = build_manpages_index(d, 60);
  const auto docs = corpus_records(d + "/corpus.jsonl");
  ServeProcess s(idx);
  ASSERT_GT(s.port(), 0);
  EXPECT_NE(s.out().find("serving 60 documents"), std::string::npos) << s.out();
  auto c = client(s);

  Json h = answer(c.Get("/health"), 200);
  EXPECT_EQ(h["status"], "ok");
  EXPECT_EQ(h["documents"], 60);
  EXPECT_EQ(h["dims"], 64);
  EXPECT_EQ(h["model"], serve_model());
  // /info carries the manifest `peft index info` prints.
  CliResult info = run_cli({"index", "info", idx, "--json"});
  ASSERT_EQ(info.rc, 0) << info.err;
  Json i = answer(c.Get("/info"), 200);
  EXPECT_EQ(i["index"]["manifest"], Json::parse(info.out)["manifest"]);
  EXPECT_EQ(i["read_only"], false);

  // Each mode finds a document by its own text first, and answers what
  // `peft search` answers: the same ids and scores in the same order.
  for (const std::string mode : {"vector", "bm25", "hybrid"}) {
    for (int which : {0, 17}) {
      const std::string q = record_query(docs[which]);
      const Json j = get_search(c, q, mode, 5);
      ASSERT_EQ(j["results"].size(), 5u) << mode;
      EXPECT_EQ(j["results"][0]["id"], docs[which]["_id"]) << mode;
      EXPECT_EQ(j["mode"], mode);
      CliResult cli = run_cli({"search", "--index", idx, "--query", q, "--mode", mode, "-k", "5", "--json"});
      ASSERT_EQ(cli.rc, 0) << cli.err;
      const Json want = Json::parse(cli.out)["results"];
      ASSERT_EQ(want.size(), 5u);
      for (size_t r = 0; r < 5; ++r) {
        EXPECT_EQ(j["results"][r]["id"], want[r]["id"]) << mode << " " << r;
        EXPECT_NEAR(j["results"][r]["score"].get<double>(), want[r]["score"].get<double>(), 1e-6) << mode;
      }
    }
  }
  // A hit carries a snippet whose marked spans are query words.
  Json j = get_search(c, "terminal login", "bm25", 3);
  ASSERT_FALSE(j["results"].empty());
  const Json& top = j["results"][0];
  ASSERT_FALSE(top["highlights"].empty()) << top;
  EXPECT_TRUE(top.contains("snippet") && top.contains("metadata") && top.contains("title")) << top;

  // where: only section 5, the same through GET (KEY=VALUE) and POST (object).
  j = get_search(c, "file format", "hybrid", 10, "&where=section=5");
  ASSERT_FALSE(j["results"].empty());
  for (const auto& r : j["results"]) EXPECT_EQ(r["metadata"]["section"], "5") << r;
  Json p = answer(c.Post("/search", Json{{"q", "file format"}, {"mode", "hybrid"}, {"where", {{"section", "5"}}}}.dump(),
                         "application/json"),
                  200);
  ASSERT_EQ(p["results"].size(), j["results"].size());
  for (size_t r = 0; r < p["results"].size(); ++r) EXPECT_EQ(p["results"][r]["id"], j["results"][r]["id"]);
  // A section no document has: no results, not an error.
  EXPECT_TRUE(get_search(c, "file", "bm25", 10, "&where=section=nine")["results"].empty());

  // A document by id is the corpus record.
  Json doc = answer(c.Get("/documents/" + docs[3]["_id"].get<std::string>()), 200);
  EXPECT_EQ(doc["id"], docs[3]["_id"]);
  EXPECT_EQ(doc["text"], docs[3]["text"]);
  EXPECT_EQ(doc["metadata"]["section"], docs[3]["section"]);
  expect_error(c.Get("/documents/no-such.9"), 404, "no-such.9");

  // /embed embeds as the manifest says: as `peft embed` does with the
  // index's model and max tokens.
  const std::string text = "how do I change my login shell";
  Json e = answer(c.Post("/embed", Json{{"texts", {text, "terminal"}}}.dump(), "application/json"), 200);
  ASSERT_EQ(e["vectors"].size(), 2u);
  CliResult emb = run_cli({"embed", "--model", serve_model(), "--text", text, "--max-length", "64"});
  ASSERT_EQ(emb.rc, 0) << emb.err;
  const auto want = Json::parse(emb.out)["embeddings"][0].get<std::vector<double>>();
  const auto got = e["vectors"][0].get<std::vector<double>>();
  ASSERT_EQ(got.size(), want.size());
  for (size_t k = 0; k < got.size(); ++k) EXPECT_NEAR(got[k], want[k], 1e-5) << k;

  EXPECT_EQ(s.stop(), 0) << s.err();
}

TEST(ServeCli, AddThenDeleteReturnsTheSameResults) {
  const std::string d = temp_dir("serve-cli");
  const std::string idx = build_manpages_index(d, 60);
  const auto more = corpus_records(manpages_slice(d, 60, 3, "more.jsonl"));
  ServeProcess s(idx);
  auto c = client(s);
  const std::vector<std::string> queries = {"terminal login", "network interface configuration", "password file"};
  std::vector<Json> before;
  for (const auto& q : queries)
    for (const std::string mode : {"vector", "bm25", "hybrid"}) before.push_back(get_search(c, q, mode)["results"]);

  Json add = Json::array();
  for (const auto& r : more) add.push_back({{"id", r["_id"]}, {"title", r["title"]}, {"text", r["text"]}, {"section", r["section"]}});
  Json a = answer(c.Post("/documents", Json{{"documents", add}}.dump(), "application/json"), 200);
  EXPECT_EQ(a["added"], 3);
  EXPECT_EQ(a["replaced"], 0);
  EXPECT_EQ(a["documents"], 63);
  // The new documents are found by their own text, and can be read back.
  for (const auto& r : more) {
    EXPECT_EQ(get_search(c, record_query(r), "bm25", 3)["results"][0]["id"], r["_id"]);
    EXPECT_EQ(get_search(c, record_query(r), "vector", 3)["results"][0]["id"], r["_id"]);
    EXPECT_EQ(answer(c.Get("/documents/" + r["_id"].get<std::string>()), 200)["text"], r["text"]);
  }
  // Adding one again replaces it.
  a = answer(c.Post("/documents", Json::array({add[0]}).dump(), "application/json"), 200);
  EXPECT_EQ(a["replaced"], 1);
  EXPECT_EQ(a["documents"], 63);
  // `peft index info` on disk agrees (the write was committed).
  CliResult info = run_cli({"index", "info", idx, "--json"});
  ASSERT_EQ(info.rc, 0) << info.err;
  EXPECT_EQ(Json::parse(info.out)["documents"], 63);

  for (const auto& r : more) {
    Json del = answer(c.Delete("/documents/" + r["_id"].get<std::string>()), 200);
    EXPECT_EQ(del["deleted"], r["_id"]);
  }
  expect_error(c.Delete("/documents/" + more[0]["_id"].get<std::string>()), 404, "no document");
  EXPECT_EQ(answer(c.Get("/health"), 200)["documents"], 60);
  size_t n = 0;
  for (const auto& q : queries)
    for (const std::string mode : {"vector", "bm25", "hybrid"}) EXPECT_EQ(get_search(c, q, mode)["results"], before[n++]) << q << " " << mode;
  EXPECT_EQ(s.stop(), 0) << s.err();
}

// A chunked index stores a long document as chunks id#0, id#1, ...: adding
// it again through the API with a shorter text leaves none of the old chunks
// behind, and DELETE /documents/{id} removes all of them.
TEST(ServeCli, ReaddingAChunkedDocumentLeavesNoStaleChunks) {
  const std::string d = temp_dir("serve-cli-chunks");
  const std::string corpus = manpages_slice(d, 0, 5, "corpus.jsonl"), idx = d + "/idx";
  CliResult r = run_cli({"index", "build", "--model", serve_model(), "--corpus", corpus, "--out", idx, "--max-tokens",
                         "64", "--chunk-tokens", "16", "-q"});
  ASSERT_EQ(r.rc, 0) << r.err;
  ServeProcess s(idx);
  auto c = client(s);
  const int64_t base = answer(c.Get("/health"), 200)["documents"];
  std::string long_text, short_text = "zebra crossing";
  for (int i = 0; i < 30; ++i) long_text += "walrus number " + std::to_string(i) + " ";
  auto post = [&](const std::string& text) {
    return answer(c.Post("/documents", Json{{"documents", Json::array({{{"id", "beast"}, {"title", "t"}, {"text", text}}})}}.dump(),
                         "application/json"),
                  200);
  };
  const Json a = post(long_text);
  const int64_t chunks = a["added"];
  ASSERT_GE(chunks, 3);
  EXPECT_EQ(answer(c.Get("/health"), 200)["documents"], base + chunks);
  post(short_text);
  EXPECT_EQ(answer(c.Get("/health"), 200)["documents"], base + 1);
  for (int64_t j = 0; j < chunks; ++j) expect_error(c.Get("/documents/beast%23" + std::to_string(j)), 404, "no document");
  // The old text is not found any more, the new one is.
  for (const auto& h : get_search(c, "walrus number", "bm25", 10)["results"])
    EXPECT_EQ(h["id"].get<std::string>().rfind("beast", 0), std::string::npos) << h;
  EXPECT_EQ(get_search(c, short_text, "bm25", 1)["results"][0]["id"], "beast");
  // Long again, then deleted by the document's id: every chunk goes.
  post(long_text);
  EXPECT_EQ(answer(c.Get("/health"), 200)["documents"], base + chunks);
  answer(c.Delete("/documents/beast"), 200);
  EXPECT_EQ(answer(c.Get("/health"), 200)["documents"], base);
  EXPECT_EQ(s.stop(), 0) << s.err();
}

TEST(ServeCli, BadRequestsGetJsonErrorsAndTheServiceKeepsRunning) {
  const std::string d = temp_dir("serve-cli");
  const std::string idx = build_manpages_index(d, 20);
  ServeProcess s(idx, {"--max-body", "65536"});
  auto c = client(s);
  expect_error(c.Post("/search", "{\"q\": \"x\",", "application/json"), 400, "malformed JSON");
  expect_error(c.Post("/documents", "[{]", "application/json"), 400, "malformed JSON");
  expect_error(c.Get("/search?k=3"), 400, "missing parameter 'q'");
  expect_error(c.Post("/search", "{\"k\": 3}", "application/json"), 400, "missing field 'q'");
  expect_error(c.Post("/search", "", "application/json"), 400, "empty");
  expect_error(c.Get("/search?q=x&mode=semantic"), 400, "mode");
  expect_error(c.Get("/search?q=x&k=0"), 400, "k must be between 1 and 100");
  expect_error(c.Get("/search?q=x&k=ten"), 400, "k must be an integer");
  expect_error(c.Get("/search?q=x&where=section"), 400, "KEY=VALUE");
  expect_error(c.Get("/search?q=" + std::string(3000, 'a')), 400, "more than the limit");
  expect_error(c.Post("/documents", "[{\"id\": \"a\"}]", "application/json"), 400, "text");
  expect_error(c.Post("/embed", "{\"texts\": [1]}", "application/json"), 400, "must be a string");
  expect_error(c.Get("/nowhere"), 404, "no such path");
  expect_error(c.Put("/search", "{}", "application/json"), 405, "allowed");
  // A body over --max-body: 413, whether it says its length or not.
  const std::string huge = "[{\"id\": \"big\", \"text\": \"" + std::string(100000, 'x') + "\"}]";
  expect_error(c.Post("/documents", huge, "application/json"), 413, "larger than the limit of 65536");
  auto chunks = std::make_shared<size_t>(0);
  auto r = c.Post("/documents",
                  [chunks](size_t, httplib::DataSink& sink) {
                    if (*chunks == 20) {
                      sink.done();
                      return true;
                    }
                    const std::string part(8192, 'y');
                    sink.write(part.data(), part.size());
                    ++*chunks;
                    return true;
                  },
                  "application/json");
  expect_error(r, 413, "larger than the limit");
  // Still healthy, still searching, nothing added.
  Json h = answer(c.Get("/health"), 200);
  EXPECT_EQ(h["documents"], 20);
  EXPECT_FALSE(get_search(c, "terminal", "hybrid")["results"].empty());
  EXPECT_EQ(s.stop(), 0) << s.err();
}

TEST(ServeCli, TwoHundredConcurrentRequestsBesideWritesAreAllAnswered) {
  const std::string d = temp_dir("serve-cli");
  const std::string idx = build_manpages_index(d, 60);
  const auto docs = corpus_records(d + "/corpus.jsonl");
  const auto extra = corpus_records(manpages_slice(d, 100, 10, "extra.jsonl"));
  ServeProcess s(idx);
  // 20 clients (the bound) each send 10 searches, every one of which must
  // find its document first; one more client adds and deletes meanwhile.
  constexpr int kClients = 20, kEach = 10;
  std::atomic<int> ok{0}, wrong{0}, failed{0};
  std::atomic<bool> stop_writer{false};
  std::thread writer([&] {
    auto c = client(s);
    for (size_t n = 0; !stop_writer; ++n) {
      const Json& r = extra[n % extra.size()];
      auto a = c.Post("/documents", Json::array({{{"id", r["_id"]}, {"text", r["text"]}}}).dump(), "application/json");
      auto del = c.Delete("/documents/" + r["_id"].get<std::string>());
      if (!a || a->status != 200 || !del || del->status != 200) ++failed;
    }
  });
  std::vector<std::thread> clients;
  const char* modes[] = {"vector", "bm25", "hybrid"};
  for (int t = 0; t < kClients; ++t) {
    clients.emplace_back([&, t] {
      auto c = client(s);
      for (int i = 0; i < kEach; ++i) {
        const Json& doc = docs[(t * kEach + i) % docs.size()];
        auto r = c.Get("/search?q=" + encode(record_query(doc)) + "&k=3&mode=" + modes[(t + i) % 3]);
        if (!r || r->status != 200) {
          ++failed;
          continue;
        }
        const Json j = Json::parse(r->body);
        (j["results"][0]["id"] == doc["_id"] ? ok : wrong)++;
      }
    });
  }
  for (auto& t : clients) t.join();
  stop_writer = true;
  writer.join();
  EXPECT_EQ(failed, 0);
  EXPECT_EQ(ok + wrong, kClients * kEach);
  // A document's own text finds it first in every mode on this corpus (the
  // test above checks the two it uses); under load the answers must not
  // change.
  EXPECT_EQ(wrong, 0);
  auto c = client(s);
  Json h = answer(c.Get("/health"), 200);
  EXPECT_EQ(h["documents"], 60);
  EXPECT_EQ(s.stop(), 0) << s.err();
  // Every search was logged as answered with 200: none lost.
  const std::string log = s.err();
  size_t logged = 0;
  for (size_t p = 0; (p = log.find("GET /search 200", p)) != std::string::npos; ++p) ++logged;
  EXPECT_EQ(logged, size_t(kClients * kEach));
}

TEST(ServeCli, AStalledClientIsDroppedAndOthersAreServed) {
  const std::string d = temp_dir("serve-cli");
  const std::string idx = build_manpages_index(d, 10);
  ServeProcess s(idx, {"--timeout", "1"});
  // Half a request, then silence.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(s.port()));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  const std::string half = "POST /search HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"q\":";
  ASSERT_EQ(send(fd, half.data(), half.size(), 0), static_cast<ssize_t>(half.size()));
  // Meanwhile others are answered.
  auto c = client(s);
  EXPECT_EQ(answer(c.Get("/health"), 200)["status"], "ok");
  // The server hangs up on it (a 60 s receive guard keeps a hang from
  // blocking the test; the server's limit is 1 s).
  timeval guard{60, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &guard, sizeof guard);
  char buf[4096];
  ssize_t n;
  std::string got;
  while ((n = recv(fd, buf, sizeof buf, 0)) > 0) got.append(buf, size_t(n));
  EXPECT_EQ(n, 0) << "the connection was not closed by the server: errno " << errno;
  close(fd);
  EXPECT_EQ(got.find("200 OK"), std::string::npos) << got;
  EXPECT_EQ(s.stop(), 0) << s.err();
}

TEST(ServeCli, StopsCleanlyOnSigtermAndSigintAndReleasesTheIndex) {
  const std::string d = temp_dir("serve-cli");
  const std::string idx = build_manpages_index(d, 10);
  for (int sig : {SIGTERM, SIGINT}) {
    ServeProcess s(idx);
    const int port = s.port();
    {
      auto c = client(s);
      EXPECT_EQ(answer(c.Get("/health"), 200)["documents"], 10);
      // A second writer on the same index is refused while it serves.
      CliResult again = run_cli({"serve", "--index", idx, "--port", "0"});
      EXPECT_EQ(again.rc, 2) << again.err;
      EXPECT_NE(again.err.find("locked"), std::string::npos) << again.err;
    }
    EXPECT_EQ(s.stop(sig), 0) << s.err();
    const std::string err = s.err();
    EXPECT_NE(err.find(sig == SIGTERM ? "SIGTERM" : "SIGINT"), std::string::npos) << err;
    EXPECT_NE(err.find("[serve] stopped"), std::string::npos) << err;
    // The port is closed and the index is free for a writer again.
    httplib::Client c("127.0.0.1", port);
    c.set_connection_timeout(5, 0);
    EXPECT_FALSE(c.Get("/health"));
    const auto more = corpus_records(manpages_slice(d, 50, 2, "more.jsonl"));
    CliResult add = run_cli({"index", "add", idx, "--corpus", d + "/more.jsonl", "-q"});
    EXPECT_EQ(add.rc, 0) << add.err;
    CliResult del = run_cli({"index", "delete", idx, "--id", more[0]["_id"], "--id", more[1]["_id"], "-q"});
    EXPECT_EQ(del.rc, 0) << del.err;
  }
}

TEST(ServeCli, ReadOnlyRefusesWritesAndServesSearches) {
  const std::string d = temp_dir("serve-cli");
  const std::string idx = build_manpages_index(d, 10);
  ServeProcess s(idx, {"--read-only"});
  auto c = client(s);
  EXPECT_EQ(answer(c.Get("/info"), 200)["read_only"], true);
  expect_error(c.Post("/documents", "[{\"id\": \"a\", \"text\": \"b\"}]", "application/json"), 403, "read-only");
  expect_error(c.Delete("/documents/securetty.5"), 403, "read-only");
  EXPECT_FALSE(get_search(c, "terminal", "hybrid")["results"].empty());
  EXPECT_EQ(answer(c.Get("/health"), 200)["documents"], 10);
  EXPECT_EQ(s.stop(), 0) << s.err();
}

TEST(ServeCli, BadCommandLinesAreOneLineErrors) {
  const std::string d = temp_dir("serve-cli");
  auto one_line = [](const CliResult& r, const std::string& part) {
    EXPECT_EQ(r.rc, 2) << r.err;
    EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << r.err;
    EXPECT_NE(r.err.find(part), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  };
  one_line(run_cli({"serve", "--index", d + "/none", "--port", "0"}), "no such index folder");
  one_line(run_cli({"serve", "--index", d, "--port", "0"}), "not an index");
  one_line(run_cli({"serve", "--index", d, "--port", "70000"}), "--port");
  // A port in use.
  const std::string idx = build_manpages_index(d, 5);
  ServeProcess s(idx, {"--read-only"});
  CliResult r = run_cli({"serve", "--index", idx, "--read-only", "--port", std::to_string(s.port()), "--no-log"});
  one_line(r, "cannot listen on 127.0.0.1:" + std::to_string(s.port()));
  EXPECT_EQ(s.stop(), 0) << s.err();
}

}  // namespace
