// An index folder's manifest.json: a real index of three documents (dims 4)
// is built once per process; each input becomes its manifest.json and the
// folder is opened for reading as peft search and peft serve open it (the
// manifest's dims and HNSW settings then meet the stored vectors and graph),
// searched in every mode, and the manifest compared with itself.
#include <cstdint>
#include <filesystem>
#include <string>

#include "core/error.h"
#include "fuzz_util.h"
#include "search/index.h"
#include "search/manifest.h"

namespace {

constexpr int64_t kDims = 4;

const std::string& index_dir() {
  static const std::string dir = [] {
    const auto d = peft::fuzz::scratch_dir() / "index";
    std::filesystem::remove_all(d);
    peft::Manifest m;
    m.model = "m.gguf";
    m.model_id = "0123";
    m.embedder = "encoder";
    m.pooling = "mean";
    m.dims = kDims;
    auto idx = peft::SearchIndex::create(d.string(), m);
    std::vector<peft::SearchDocument> docs = {{"a", "first", "the cat sat", {{"lang", "en"}}},
                                              {"b", "second", "a dog ran", {{"n", 3}}},
                                              {"c", "", "cats and dogs", nlohmann::json::object()}};
    const float v[] = {1, 0, 0, 0, 0, 1, 0, 0, 0.6f, 0.8f, 0, 0};
    idx->add(docs, v);
    return d.string();
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& dir = index_dir();
  peft::fuzz::write_scratch("index/manifest.json", {reinterpret_cast<const char*>(data), size});
  peft::fuzz::run_guarded([&] {
    auto idx = peft::SearchIndex::open(dir);
    const peft::Manifest& m = idx->manifest();
    // What the manifest says must survive a round trip and equal itself.
    const peft::Manifest back = peft::Manifest::from_json(m.to_json(), "round trip");
    m.check_same_embedding(back, dir);
    (void)idx->info().to_json().dump();
    (void)idx->count();
    (void)idx->get("b");
    // A query vector as long as the manifest says (the embedder makes it so);
    // a manifest claiming more dims than a model could have is not searched.
    if (m.dims > 1 << 16) return;
    for (auto mode : {peft::SearchMode::kVector, peft::SearchMode::kBm25, peft::SearchMode::kHybrid}) {
      peft::fuzz::run_guarded([&] {
        peft::SearchRequest r;
        r.mode = mode;
        r.k = 3;
        r.vector.assign(static_cast<size_t>(m.dims), 0.5f);
        r.text = "cat";
        r.snippet_tokens = 4;
        (void)idx->search(r);
      });
    }
  });
  return 0;
}
