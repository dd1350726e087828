#include "search/http_server.h"

#include <httplib.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <thread>

#include "core/error.h"
#include "search/query_string.h"

namespace peft::search {

namespace {

using Clock = std::chrono::steady_clock;

// When the current worker thread began the request it is handling: set
// before routing, read by the logger. A request httplib rejects before that
// (a malformed request line) has no start and logs "-".
thread_local Clock::time_point t_request_start{};

// httplib's own default also sets SO_REUSEPORT, which would let a second
// server bind a port that is in use instead of failing; we want the failure.
// The socket is remembered so that its listen backlog can be raised after
// httplib has listened with its compiled-in backlog of 5.
void reuse_address_only(socket_t sock, std::atomic<int>* keep) {
  int yes = 1;
  setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  keep->store(sock);
}

const char* reason(int status) {
  switch (status) {
    case 400: return "bad request";
    case 404: return "not found";
    case 405: return "method not allowed";
    case 411: return "length required";
    case 413: return "payload too large";
    case 414: return "the request line is too long";
    case 416: return "range not satisfiable";
    case 500: return "internal server error";
    case 503: return "service unavailable";
  }
  return "error";
}

}  // namespace

struct HttpServer::Impl {
  SearchService& service;
  HttpOptions opt;
  httplib::Server svr;
  std::atomic<int> listen_sock{-1};
  bool bound = false;
  // httplib's stop() does nothing before its listen loop has started; these
  // let a stop() that comes first still end run(). Both sides write their
  // flag, then read the other's (sequentially consistent), so at least one
  // of them sees the other.
  std::atomic<bool> run_entered{false}, run_returned{false}, stop_requested{false};

  Impl(SearchService& s, HttpOptions o) : service(s), opt(std::move(o)) {}

  void reply(const ApiResponse& a, httplib::Response& res) {
    res.status = a.status;
    for (const auto& [k, v] : a.headers) res.set_header(k, v);
    res.set_content(a.body, a.content_type);
  }

  // Every request goes to the service with its body read here, so that a
  // body without Content-Length (chunked, or up to the end of the
  // connection) obeys the same limit as one with it: what passes the limit
  // is read and dropped, not kept.
  void handle_with_body(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader) {
    // A request with neither Content-Length nor chunked Transfer-Encoding
    // has no body (RFC 9112, 6.3); asking httplib to read one would wait
    // for the client until the read timeout (`curl -X PUT` did).
    std::string te = req.get_header_value("Transfer-Encoding");
    for (char& c : te) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!req.has_header("Content-Length") && te.find("chunked") == std::string::npos) {
      handle(req, std::string(), res);
      return;
    }
    std::string body;
    bool too_big = false;
    const bool ok = reader([&](const char* data, size_t n) {
      if (too_big) return true;
      if (body.size() + n > opt.max_body) {
        too_big = true;
        std::string().swap(body);
        return true;
      }
      body.append(data, n);
      return true;
    });
    if (too_big || res.status == 413) {
      reply(too_large(), res);
      return;
    }
    if (!ok) {
      reply(api_error(400, "[serve] could not read the request body"), res);
      return;
    }
    handle(req, std::move(body), res);
  }

  ApiResponse too_large() const {
    return api_error(413, "[serve] the request body is larger than the limit of " + std::to_string(opt.max_body) +
                              " bytes (peft serve --max-body)");
  }

  void handle(const httplib::Request& req, std::string body, httplib::Response& res) {
    ApiRequest a;
    a.method = req.method;
    a.path = req.path;
    a.params = parse_query(req.target);
    a.body = std::move(body);
    reply(service.handle(a), res);
  }

  void setup() {
    const int threads = opt.threads > 0 ? opt.threads : std::max(4, static_cast<int>(std::thread::hardware_concurrency()));
    svr.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
    svr.set_payload_max_length(opt.max_body);
    svr.set_keep_alive_timeout(opt.keep_alive_s);
    // httplib writes the headers and the body of an answer separately: with
    // Nagle's algorithm on, the body waits for the client's delayed ACK of
    // the headers, about 40 ms on Linux, which was most of a search's
    // latency (bench/serve.sh measured 44 ms p50 for a 2 ms search).
    svr.set_tcp_nodelay(true);
    svr.set_read_timeout(opt.io_timeout_s, 0);
    svr.set_write_timeout(opt.io_timeout_s, 0);
    svr.set_socket_options([this](socket_t sock) { reuse_address_only(sock, &listen_sock); });
    svr.set_pre_routing_handler([](const httplib::Request&, httplib::Response&) {
      t_request_start = Clock::now();
      return httplib::Server::HandlerResponse::Unhandled;
    });
    const std::string any = "(.*)";
    auto plain = [this](const httplib::Request& req, httplib::Response& res) { handle(req, req.body, res); };
    auto with_body = [this](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& r) {
      handle_with_body(req, res, r);
    };
    svr.Get(any, plain);
    svr.Options(any, plain);
    svr.Post(any, with_body);
    svr.Put(any, with_body);
    svr.Patch(any, with_body);
    svr.Delete(any, with_body);
    // What httplib answers itself (a malformed request, a body over the
    // limit with Content-Length, an unknown method) comes here without a
    // body; give it the service's JSON error shape.
    svr.set_error_handler(httplib::Server::HandlerWithResponse([this](const httplib::Request&, httplib::Response& res) {
      if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
      const ApiResponse a = res.status == 413 ? too_large()
                                              : api_error(res.status, std::string("[serve] ") + reason(res.status));
      res.set_content(a.body, a.content_type);
      return httplib::Server::HandlerResponse::Handled;
    }));
    svr.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
      // SearchService::handle catches everything; this is for httplib's own.
      res.status = 500;
      res.set_content(R"({"error":"internal: unexpected exception"})", "application/json");
    });
    if (opt.log) {
      svr.set_logger([](const httplib::Request& req, const httplib::Response& res) {
        char ms[32] = "-";
        if (t_request_start != Clock::time_point{}) {
          std::snprintf(ms, sizeof(ms), "%.1f", std::chrono::duration<double, std::milli>(Clock::now() - t_request_start).count());
          t_request_start = Clock::time_point{};
        }
        // One fprintf per line: stdio locks the stream, so lines from
        // different workers do not interleave.
        std::fprintf(stderr, "[serve] %s %s %d %s ms\n", req.method.empty() ? "-" : req.method.c_str(),
                     req.path.empty() ? "-" : req.path.c_str(), res.status, ms);
      });
    }
  }
};

HttpServer::HttpServer(SearchService& service, HttpOptions opt) : impl_(std::make_unique<Impl>(service, std::move(opt))) {
  impl_->setup();
}

HttpServer::~HttpServer() = default;

int HttpServer::bind() {
  Impl& m = *impl_;
  if (m.opt.port < 0 || m.opt.port > 65535) fail("serve", "port must be between 0 and 65535, got " + std::to_string(m.opt.port));
  errno = 0;
  int port = m.opt.port;
  bool ok;
  if (port == 0) {
    port = m.svr.bind_to_any_port(m.opt.host);
    ok = port > 0;
  } else {
    ok = m.svr.bind_to_port(m.opt.host, port);
  }
  if (!ok) {
    const int err = errno;
    fail("serve", "cannot listen on " + m.opt.host + ":" + std::to_string(m.opt.port) + ": " +
                      (err ? std::strerror(err) : "the address is not available"));
  }
  // Linux lets a listening socket's backlog be changed by listening again: a
  // burst of clients (the load test sends 200 at once) should queue, not
  // wait for SYN retransmits.
  if (m.listen_sock >= 0) ::listen(m.listen_sock, 1024);
  m.bound = true;
  return port;
}

void HttpServer::run() {
  Impl& m = *impl_;
  PEFT_CHECK(m.bound, "serve", "run() before bind()");
  m.run_entered = true;
  if (!m.stop_requested) m.svr.listen_after_bind();
  m.run_returned = true;
}

void HttpServer::stop() {
  Impl& m = *impl_;
  m.stop_requested = true;
  // run() is between its check and httplib's loop: wait for the loop.
  while (m.run_entered && !m.run_returned && !m.svr.is_running()) std::this_thread::yield();
  m.svr.stop();
}

void serve_until_signal(SearchService& service, const HttpOptions& opt, const std::function<void(int port)>& on_ready) {
  sigset_t stop_set, old;
  sigemptyset(&stop_set);
  sigaddset(&stop_set, SIGINT);
  sigaddset(&stop_set, SIGTERM);
  // A client that hangs up mid-response must not kill the process.
  signal(SIGPIPE, SIG_IGN);
  pthread_sigmask(SIG_BLOCK, &stop_set, &old);
  struct Restore {
    sigset_t* old;
    ~Restore() { pthread_sigmask(SIG_SETMASK, old, nullptr); }
  } restore{&old};

  HttpServer server(service, opt);
  const int port = server.bind();
  std::atomic<bool> done{false};
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&stop_set, &sig);
    if (done) return;  // woken by the return below, not by a user
    std::fprintf(stderr, "[serve] %s: finishing the requests in flight\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    server.stop();
  });
  if (on_ready) on_ready(port);
  server.run();
  done = true;
  pthread_kill(waiter.native_handle(), SIGTERM);  // wakes the waiter when run() ended on its own
  waiter.join();
  // A second signal that came while stopping would kill the process as soon
  // as the mask is restored: take it here.
  timespec zero{0, 0};
  while (sigtimedwait(&stop_set, nullptr, &zero) > 0) {
  }
}

}  // namespace peft::search
