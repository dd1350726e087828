// peft serve's request handling without sockets: each part of the input is
// one request ("METHOD TARGET" on its first line, the body after it), its
// query string parsed by the server's own parse_query() and the request
// handed to SearchService::handle() over the test double of the index
// (tests/fake_service_backend.h), one fresh backend per input so that adds,
// deletes and searches of the same input meet. handle() must never throw and
// never answer 500 (a fault of ours); every JSON answer must parse.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <nlohmann/json.hpp>

#include "fake_service_backend.h"
#include "fuzz_util.h"
#include "search/query_string.h"
#include "search/service_api.h"

namespace {

constexpr int kMaxRequests = 8;

[[noreturn]] void bug(const std::string& what, const peft::search::ApiResponse& r) {
  std::fprintf(stderr, "fuzz_serve: %s (status %d): %.300s\n", what.c_str(), r.status, r.body.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  peft::test::FakeServiceBackend backend;
  peft::search::ServiceLimits limits;
  // Small limits, so that the fuzzer can reach them with short inputs.
  limits.max_k = 20;
  limits.max_query_bytes = 64;
  limits.max_embed_texts = 8;
  limits.max_text_bytes = 512;
  limits.max_add_documents = 16;
  limits.snippet_bytes = 40;
  peft::search::SearchService service(backend, limits);
  for (int i = 0; i < kMaxRequests; ++i) {
    std::string_view part = peft::fuzz::part(in, i);
    if (part.empty() && i > 0) break;
    const size_t nl = part.find('\n');
    const std::string_view line = part.substr(0, nl);
    const std::string_view body = nl == std::string_view::npos ? std::string_view() : part.substr(nl + 1);
    const size_t sp = line.find(' ');
    peft::search::ApiRequest req;
    req.method = std::string(line.substr(0, sp));
    const std::string target = sp == std::string_view::npos ? "/" : std::string(line.substr(sp + 1));
    req.path = target.substr(0, target.find('?'));
    req.params = peft::search::parse_query(target);
    req.body = std::string(body);
    const peft::search::ApiResponse r = service.handle(req);
    if (r.status >= 500) bug("a fault of ours", r);
    if (r.status < 200) bug("no status", r);
    if (r.content_type == "application/json" && !nlohmann::json::accept(r.body)) bug("an answer that is not JSON", r);
  }
  return 0;
}
