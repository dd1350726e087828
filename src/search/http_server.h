// The HTTP transport of the search service: cpp-httplib's server with a
// fixed pool of worker threads, every request handed to SearchService
// (search/service_api.h), a body-size limit, JSON errors for what httplib
// itself refuses (oversized bodies, malformed requests), one log line per
// request on stderr, and a clean stop.
#pragma once
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "search/service_api.h"

namespace peft::search {

struct HttpOptions {
  std::string host = "127.0.0.1";
  int port = 8080;          // 0: any free port (HttpServer::bind says which)
  int threads = 0;          // worker threads; 0: the machine's cores, at least 4
  size_t max_body = 16u << 20;  // bytes; a larger request body gets 413
  int keep_alive_s = 2;     // an idle keep-alive connection holds a worker this long
  // A client that takes longer than this to send its request (headers and
  // body) or to read the answer is dropped, so a slow or stalled client
  // frees its worker.
  int io_timeout_s = 10;
  bool log = true;          // "[serve] METHOD PATH STATUS MS ms" per request on stderr
};

class HttpServer {
 public:
  HttpServer(SearchService& service, HttpOptions opt);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and listens; returns the port. Throws InputError
  // "[serve] cannot listen on HOST:PORT: reason" (a port in use, a host that
  // is not ours).
  int bind();
  // Serves until stop(); requests already being handled finish first.
  void run();
  // From any thread (not from a signal handler).
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Binds, calls on_ready(port), then serves until SIGINT or SIGTERM arrives,
// lets the requests in flight finish, and returns. The two signals are
// blocked in the calling thread (and so in every thread it starts) while
// serving and waited for by a thread of its own, since httplib's stop is not
// safe to call from a signal handler.
void serve_until_signal(SearchService& service, const HttpOptions& opt, const std::function<void(int port)>& on_ready);

}  // namespace peft::search
