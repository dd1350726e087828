// peft serve: the search service over an index folder (HTTP JSON API and
// the search page). Parsing and printing only; see src/search/service_api.h
// (endpoints), src/search/http_server.h (transport, shutdown) and
// docs/serve.md.
#include <cstdio>

#include "command.h"
#include "common.h"
#include "core/error.h"
#include "search/http_server.h"
#include "search/index_backend.h"
#include "search/searcher.h"
#include "search/service_api.h"

namespace peft::cli {
namespace {

std::function<int()> setup(CLI::App& app) {
  struct Opts {
    std::string index, host = "127.0.0.1";
    int port = 8080, workers = 0, keep_alive = 2, timeout = 10;
    size_t max_body = 16u << 20;
    int64_t max_k = 100;
    bool read_only = false, no_log = false;
    CommonOptions common;
  };
  auto o = std::make_shared<Opts>();
  app.add_option("--index", o->index, "the index folder (peft index build)")->required();
  app.add_option("--host", o->host, "address to listen on (0.0.0.0: every interface)");
  app.add_option("--port", o->port, "port to listen on (0: any free port, printed on stdout)")->check(CLI::Range(0, 65535));
  app.add_option("--workers", o->workers, "requests handled at once (HTTP worker threads; 0 = cores, at least 4)")
      ->check(kNonNegative);
  app.add_option("--max-body", o->max_body, "largest request body in bytes (larger: 413)")->check(kPositive);
  app.add_option("--max-k", o->max_k, "most results one search may ask for")->check(kPositive);
  app.add_option("--timeout", o->timeout, "seconds a client may take to send its request or read the answer")
      ->check(kPositive);
  app.add_option("--keep-alive", o->keep_alive, "seconds an idle connection is kept open")->check(kNonNegative);
  app.add_flag("--read-only", o->read_only, "refuse POST /documents and DELETE (403); open the index for reading only");
  app.add_flag("--no-log", o->no_log, "no line per request on stderr");
  add_common_options(app, o->common);
  app.get_option("--threads")->description("threads one embedding (a query, an added document) uses; 0 = all cores");
  return [o]() -> int {
    apply_common_options(o->common);
    using search::SearchService;
    search::IndexBackend backend(
        Searcher::open(o->index, o->read_only ? SearchIndex::Access::kRead : SearchIndex::Access::kWrite));
    search::ServiceLimits limits;
    limits.max_k = o->max_k;
    limits.read_only = o->read_only;
    SearchService service(backend, limits);
    search::HttpOptions http;
    http.host = o->host;
    http.port = o->port;
    http.threads = o->workers;
    http.max_body = o->max_body;
    http.keep_alive_s = o->keep_alive;
    http.io_timeout_s = o->timeout;
    http.log = !o->no_log;
    const search::ServiceInfo info = backend.info();
    search::serve_until_signal(service, http, [&](int port) {
      const std::string host = o->host.find(':') != std::string::npos ? "[" + o->host + "]" : o->host;
      std::printf("serving %lld documents (%s, %lld dims) at http://%s:%d/\n", (long long)info.documents,
                  info.model.c_str(), (long long)info.dims, host.c_str(), port);
      std::fflush(stdout);
    });
    std::fprintf(stderr, "[serve] stopped\n");
    return 0;
  };
}

PEFT_COMMAND("serve", "Serve an index over HTTP: JSON search API and a search page", setup);

}  // namespace
}  // namespace peft::cli
