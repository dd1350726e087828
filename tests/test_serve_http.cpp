// The HTTP transport of the search service (search/http_server.h) through
// real HTTP on 127.0.0.1, in-process, over the in-memory test double:
// bodies over the limit (with Content-Length and chunked) get a JSON 413,
// what httplib refuses gets a JSON error, searches run in parallel while
// writes run alone, 200 requests from a bounded pool of clients are all
// answered, stop() lets the request in flight finish, a taken port is an
// error. test_serve_cli.cpp runs the real binary on a real index.
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/error.h"
#include "fake_service_backend.h"
#include "search/http_server.h"

using namespace peft;
using namespace peft::search;
using Json = nlohmann::json;

namespace {

struct Running {
  test::FakeServiceBackend backend;
  SearchService service{backend};
  HttpServer server;
  int port = 0;
  std::thread thread;

  explicit Running(size_t max_body = 1 << 16) : server(service, options(max_body)) {
    backend.docs["grep.1"] = {"grep.1", "grep", "print lines that match patterns in files", Json{{"section", "1"}}};
    backend.docs["ls.1"] = {"ls.1", "ls", "list directory contents and files", Json{{"section", "1"}}};
    port = server.bind();
    thread = std::thread([this] { server.run(); });
  }
  ~Running() {
    server.stop();
    thread.join();
  }
  static HttpOptions options(size_t max_body) {
    HttpOptions o;
    o.port = 0;
    o.threads = 8;
    o.max_body = max_body;
    o.log = false;
    return o;
  }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(30, 0);
    return c;
  }
};

Json json_of(const httplib::Result& r) {
  EXPECT_TRUE(r) << httplib::to_string(r.error());
  if (!r) return Json();
  EXPECT_NE(r->get_header_value("Content-Type").find("application/json"), std::string::npos) << r->body;
  return Json::parse(r->body);
}

}  // namespace

TEST(ServeHttp, EndpointsAnswerJsonOverHttp) {
  Running s;
  auto c = s.client();
  auto r = c.Get("/health");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(json_of(r)["documents"], 2);
  r = c.Get("/search?q=files%20grep&mode=bm25&k=1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  Json j = json_of(r);
  ASSERT_EQ(j["results"].size(), 1u);
  EXPECT_EQ(j["results"][0]["id"], "grep.1");
  r = c.Post("/search", R"({"q": "list", "mode": "bm25"})", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(json_of(r)["results"][0]["id"], "ls.1");
  r = c.Post("/documents", R"([{"id": "a b/c", "text": "slash and space in the id"}])", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  r = c.Delete("/documents/a%20b%2Fc");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(json_of(r)["deleted"], "a b/c");
  r = c.Get("/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type"), "text/html; charset=utf-8");
  r = c.Head("/health");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(r->body.empty());
}

TEST(ServeHttp, ErrorsAreJsonWithTheRightStatus) {
  Running s;
  auto c = s.client();
  auto r = c.Post("/search", "{\"q\": ", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(json_of(r)["error"].get<std::string>().find("malformed JSON"), std::string::npos);
  r = c.Get("/search?k=3");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(json_of(r)["error"].get<std::string>().find("missing parameter 'q'"), std::string::npos);
  r = c.Get("/no/such/thing");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_TRUE(json_of(r).contains("error"));
  r = c.Put("/search", "{}", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 405);
  EXPECT_EQ(r->get_header_value("Allow"), "GET, HEAD, POST");
  EXPECT_TRUE(json_of(r).contains("error"));
  r = c.Delete("/documents/nope");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_TRUE(json_of(r).contains("error"));
  // Still serving.
  r = c.Get("/health");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

// What one raw request gets back (the server closes the connection).
std::string raw_exchange(int port, const std::string& request) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  EXPECT_EQ(send(fd, request.data(), request.size(), 0), static_cast<ssize_t>(request.size()));
  timeval guard{60, 0};  // against a hang, not a timing check
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &guard, sizeof guard);
  std::string got;
  char buf[4096];
  for (ssize_t n; (n = recv(fd, buf, sizeof buf, 0)) > 0;) got.append(buf, static_cast<size_t>(n));
  close(fd);
  return got;
}

TEST(ServeHttp, AWriteMethodWithoutContentLengthHasNoBody) {
  Running s;
  // No Content-Length, no Transfer-Encoding: an empty body (RFC 9112 6.3),
  // answered at once rather than after waiting for a body until the read
  // timeout and failing (which gave 400 "could not read the request body").
  const std::string put = raw_exchange(s.port, "PUT /search HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(put.rfind("HTTP/1.1 405", 0), 0u) << put;
  const std::string post = raw_exchange(s.port, "POST /search HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(post.rfind("HTTP/1.1 400", 0), 0u) << post;
  EXPECT_NE(post.find("the request body is empty"), std::string::npos) << post;
}

TEST(ServeHttp, BodiesOverTheLimitGet413) {
  Running s(4096);
  auto c = s.client();
  const std::string big = "{\"q\": \"" + std::string(10000, 'a') + "\"}";
  auto r = c.Post("/search", big, "application/json");
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 413);
  EXPECT_NE(json_of(r)["error"].get<std::string>().find("limit of 4096 bytes"), std::string::npos);
  // Chunked: no Content-Length for httplib to check; the service counts.
  size_t sent = 0;
  r = c.Post(
      "/documents",
      [&](size_t, httplib::DataSink& sink) {
        if (sent >= 100000) {
          sink.done();
          return true;
        }
        const std::string piece(1000, 'x');
        sink.write(piece.data(), piece.size());
        sent += piece.size();
        return true;
      },
      "application/json");
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 413);
  EXPECT_TRUE(json_of(r).contains("error"));
  EXPECT_EQ(s.backend.docs.size(), 2u);
  // Just under the limit passes.
  r = c.Post("/search", R"({"q": "grep"})", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST(ServeHttp, ConcurrentRequestsAllAnsweredWritesAlone) {
  Running s;
  s.backend.search_sleep_ms = 5;  // long enough for searches to overlap
  constexpr int kClients = 20, kPerClient = 10;  // 200 requests, at most 20 at a time
  std::atomic<int> ok{0}, wrong{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < kClients; ++t)
    clients.emplace_back([&, t] {
      auto c = s.client();
      for (int i = 0; i < kPerClient; ++i) {
        const int n = t * kPerClient + i;
        bool good = false;
        if (n % 10 == 3) {  // a write: add a document of its own, then delete it
          const std::string id = "doc" + std::to_string(n);
          auto r = c.Post("/documents", Json::array({{{"id", id}, {"text", "temporary"}}}).dump(), "application/json");
          good = r && r->status == 200 && Json::parse(r->body)["added"] == 1;
          if (good) {
            auto d = c.Delete(("/documents/" + id).c_str());
            good = d && d->status == 200;
          }
        } else if (n % 2) {
          auto r = c.Get("/search?q=grep&mode=bm25");
          good = r && r->status == 200 && Json::parse(r->body)["results"][0]["id"] == "grep.1";
        } else {
          auto r = c.Post("/search", R"({"q": "list directory", "mode": "bm25", "k": 1})", "application/json");
          good = r && r->status == 200 && Json::parse(r->body)["results"][0]["id"] == "ls.1";
        }
        (good ? ok : wrong)++;
      }
    });
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok, kClients * kPerClient);
  EXPECT_EQ(wrong, 0);
  EXPECT_EQ(s.backend.overlap_seen, 0) << "a write ran beside another call";
  EXPECT_GT(s.backend.max_readers, 1) << "searches never ran in parallel";
  auto r = s.client().Get("/health");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(Json::parse(r->body)["documents"], 2);
}

TEST(ServeHttp, StopLetsTheRequestInFlightFinish) {
  auto s = std::make_unique<Running>();
  s->backend.search_sleep_ms = 800;
  std::unique_ptr<httplib::Result> r;
  std::thread client([&] { r = std::make_unique<httplib::Result>(s->client().Get("/search?q=grep")); });
  // Wait until the search is inside the backend, then stop.
  for (int i = 0; i < 500 && s->backend.readers == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_EQ(s->backend.readers, 1);
  s.reset();  // stop() and join the server's thread
  client.join();
  ASSERT_TRUE(r && *r) << httplib::to_string(r->error());
  EXPECT_EQ((*r)->status, 200);
  EXPECT_EQ(Json::parse((*r)->body)["results"].size(), 2u);
}

TEST(ServeHttp, APortInUseIsAnInputError) {
  Running s;
  test::FakeServiceBackend b;
  SearchService service(b);
  HttpOptions o;
  o.port = s.port;
  o.log = false;
  HttpServer second(service, o);
  try {
    second.bind();
    FAIL() << "bound a port that is in use";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("[serve] cannot listen on 127.0.0.1:" + std::to_string(s.port)), std::string::npos)
        << e.what();
  }
}
