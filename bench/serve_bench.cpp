// Load generator for `peft serve` (bench/serve.sh): C clients, each with its
// own keep-alive connection, send R searches in all (GET /search, one mode,
// queries taken in turn from a BEIR queries.jsonl) as fast as answers come
// back. Prints one JSON object: requests/s over the whole run and latency
// percentiles (each request timed from send to full answer, in the client).
//
//   serve_bench --port P --queries queries.jsonl --mode hybrid --clients 4
//               [--requests 400] [--warmup 20] [--k 10] [--host 127.0.0.1]
//
// A request that fails or gets a status other than 200 counts as an error
// (and still in the latency figures, as the client waited for it).
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

using Clock = std::chrono::steady_clock;

namespace {

struct Args {
  std::string host = "127.0.0.1", queries, mode = "hybrid";
  int port = 0, clients = 1, requests = 400, warmup = 20, k = 10;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr, "error: [serve_bench] %s\n", why);
  std::exit(2);
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (i + 1 >= argc) usage(("missing value for " + k).c_str());
    const std::string v = argv[++i];
    if (k == "--host") a.host = v;
    else if (k == "--port") a.port = std::atoi(v.c_str());
    else if (k == "--queries") a.queries = v;
    else if (k == "--mode") a.mode = v;
    else if (k == "--clients") a.clients = std::atoi(v.c_str());
    else if (k == "--requests") a.requests = std::atoi(v.c_str());
    else if (k == "--warmup") a.warmup = std::atoi(v.c_str());
    else if (k == "--k") a.k = std::atoi(v.c_str());
    else usage(("unknown option " + k).c_str());
  }
  if (a.port <= 0 || a.queries.empty() || a.clients < 1 || a.requests < 1) usage("need --port, --queries, --clients >= 1");
  return a;
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  // Nearest rank: the smallest value with at least p% of values at or below it.
  size_t r = static_cast<size_t>(std::ceil(p / 100.0 * double(v.size())));
  return v[std::min(v.size(), std::max<size_t>(r, 1)) - 1];
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse(argc, argv);
  std::vector<std::string> paths;
  {
    std::ifstream in(a.queries);
    if (!in) usage(("cannot read " + a.queries).c_str());
    for (std::string line; std::getline(in, line);) {
      if (line.empty()) continue;
      const auto j = nlohmann::json::parse(line);
      paths.push_back("/search?q=" + httplib::detail::encode_query_param(j["text"].get<std::string>()) +
                      "&mode=" + a.mode + "&k=" + std::to_string(a.k));
    }
  }
  if (paths.empty()) usage("no queries");
  {  // warm up: the first queries of a fresh process pay for page faults
    httplib::Client c(a.host, a.port);
    for (int i = 0; i < a.warmup; ++i) c.Get(paths[(paths.size() - 1 - size_t(i) % paths.size())]);
  }
  std::atomic<int> next{0}, errors{0};
  std::vector<std::vector<double>> lat(size_t(a.clients));
  const auto t0 = Clock::now();
  std::vector<std::thread> ts;
  for (int t = 0; t < a.clients; ++t) {
    ts.emplace_back([&, t] {
      httplib::Client c(a.host, a.port);
      c.set_keep_alive(true);
      c.set_tcp_nodelay(true);
      c.set_read_timeout(120, 0);
      for (int i; (i = next++) < a.requests;) {
        const auto s = Clock::now();
        auto r = c.Get(paths[size_t(i) % paths.size()]);
        lat[size_t(t)].push_back(std::chrono::duration<double, std::milli>(Clock::now() - s).count());
        if (!r || r->status != 200) ++errors;
      }
    });
  }
  for (auto& t : ts) t.join();
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  std::vector<double> all;
  for (const auto& l : lat) all.insert(all.end(), l.begin(), l.end());
  nlohmann::json out = {{"mode", a.mode},
                        {"clients", a.clients},
                        {"requests", a.requests},
                        {"errors", errors.load()},
                        {"seconds", secs},
                        {"requests_per_s", double(a.requests) / secs},
                        {"p50_ms", percentile(all, 50)},
                        {"p95_ms", percentile(all, 95)},
                        {"p99_ms", percentile(all, 99)}};
  std::printf("%s\n", out.dump().c_str());
  return errors ? 1 : 0;
}
