// Regression tests for what fuzzing found (docs/fuzzing.md, fuzz/): each bug
// the fuzz targets turned up is replayed here, from its minimised input in
// tests/data/fuzz/ where the input is a file, and must now end in one
// "[area] ..." InputError. Also the limits a crafted chat template meets
// (steps, string and output size).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <string>

#include "core/error.h"
#include "data/jsonl.h"
#include "data/records.h"
#include "io/gguf.h"
#include "model/llama.h"
#include "search/index.h"
#include "search/manifest.h"
#include "test_util.h"
#include "tokenizer/chat_template.h"

namespace peft {
namespace {

// A minimised fuzz input kept in tests/data/fuzz/.
std::string fuzz_input(const std::string& name) { return std::string(PEFT_SOURCE_DIR) + "/tests/data/fuzz/" + name; }

// The InputError message fn throws; fails the test on any other outcome.
template <class Fn>
std::string input_error(Fn&& fn) {
  try {
    fn();
  } catch (const InputError& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not an InputError: " << e.what();
    return "";
  }
  ADD_FAILURE() << "no error";
  return "";
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// fuzz_jsonl: a number beyond a double made nlohmann throw out_of_range,
// which the JSONL reader did not catch (only parse_error).
TEST(FuzzRegressions, JsonlNumberOverflowIsOneDataError) {
  const std::string path = fuzz_input("jsonl_number_overflow.jsonl");
  std::string e = input_error([&] { read_jsonl(path); });
  EXPECT_EQ(e.rfind("[data] ", 0), 0u) << e;
  EXPECT_TRUE(ends_with(e, ":1: not valid JSON (number overflow parsing '8e9999999999')")) << e;
  e = input_error([&] { read_records(path, FieldNames{}); });
  EXPECT_TRUE(ends_with(e, ":1: not valid JSON (number overflow parsing '8e9999999999')")) << e;
}

std::string template_error(const std::string& tmpl, const ChatRenderOptions& opt = {}) {
  try {
    ChatTemplate::from_string(tmpl).render(nlohmann::ordered_json::object(), opt);
  } catch (const InputError& e) {
    return e.what();
  }
  return "(rendered)";
}

// fuzz_gguf: a tiny model whose block_count says 8388609 layers made the
// loader allocate every layer (gigabytes) before finding the tensors
// missing; the configuration is now checked against the file first.
TEST(FuzzRegressions, GgufLayerCountBeyondTheFileFailsBeforeAllocating) {
  auto f = GgufFile::open(fuzz_input("gguf_block_count_8388609.gguf"));
  std::string e = input_error([&] { load_llama_gguf<float>(*f); });
  EXPECT_EQ(e.rfind("[model] ", 0), 0u) << e;
  EXPECT_NE(e.find("8388609 layers"), std::string::npos) << e;
  EXPECT_NE(e.find("weights, but its tensors hold 760"), std::string::npos) << e;
}

TEST(FuzzTemplateLimits, LoopsThatDoNotEndStopAtTheStepLimit) {
  // A million times a million iterations: hours without a bound.
  EXPECT_EQ(template_error("{% for i in range(1000000) %}{% for j in range(1000000) %}{% endfor %}{% endfor %}"),
            "[template] template:1: template took more than 5000000 steps (a loop that does not end?)");
  ChatRenderOptions small;
  small.max_steps = 1000;
  EXPECT_EQ(template_error("{% for i in range(400) %}{{ i }}{% endfor %}", small),
            "[template] template:1: template took more than 1000 steps (a loop that does not end?)");
  // The same template within the limit renders.
  small.max_steps = 10000;
  EXPECT_NE(template_error("{% for i in range(400) %}{{ i }}{% endfor %}", small).rfind("[template]", 0), 0u);
}

TEST(FuzzTemplateLimits, ValuesThatDoubleStopAtTheByteLimit) {
  // Doubling a string 40 times would ask for a terabyte. (With the default
  // 64 MiB the steps such large strings cost end it first.)
  ChatRenderOptions mib;
  mib.max_bytes = size_t{1} << 20;
  EXPECT_EQ(template_error("{% set ns = namespace(s='xxxxxxxx') %}{% for i in range(40) %}"
                           "{% set ns.s = ns.s ~ ns.s %}{% endfor %}", mib),
            "[template] template:1: a string of 2097152 bytes is larger than the limit of 1048576");
  EXPECT_EQ(template_error("{% set ns = namespace(s='xxxxxxxx') %}{% for i in range(40) %}"
                           "{% set ns.s = ns.s ~ ns.s %}{% endfor %}").rfind("[template] template:1: ", 0), 0u);
  EXPECT_EQ(template_error("{% set ns = namespace(l=[1]) %}{% for i in range(40) %}"
                           "{% set ns.l = ns.l + ns.l %}{% endfor %}"),
            "[template] template:1: a list of 1048576 items is longer than 1000000");
  ChatRenderOptions small;
  small.max_bytes = 100;
  EXPECT_EQ(template_error("{% for i in range(30) %}{{ 'abcd' }}{% endfor %}", small),
            "[template] template:1: rendered text is larger than 100 bytes");
  EXPECT_EQ(template_error("{{ 'abcd' * 30 }}", small), "[template] template:1: repetition too large");
}

// fuzz_index_manifest: a manifest.json saying dims 10^15 made opening the
// index size the HNSW graph's rows by it (a std::length_error, or gigabytes)
// before comparing it with the stored vectors; huge HNSW settings sized every
// node's links. A manifest's numbers are now checked against ceilings first.
TEST(FuzzRegressions, IndexManifestSizesAreCheckedBeforeUse) {
  const std::string dir = test::temp_dir("fuzz_manifest") + "/index";
  Manifest m;
  m.model = "m.gguf";
  m.model_id = "0123";
  m.embedder = "encoder";
  m.pooling = "mean";
  m.dims = 4;
  {
    auto idx = SearchIndex::create(dir, m);
    const float v[] = {1, 0, 0, 0, 0, 1, 0, 0};
    idx->add({{"a", "", "the cat", nlohmann::json::object()}, {"b", "", "a dog", nlohmann::json::object()}}, v);
  }
  test::write_file(dir + "/manifest.json", test::read_file(fuzz_input("manifest_dims_1e15.json")));
  std::string e = input_error([&] { SearchIndex::open(dir); });
  EXPECT_EQ(e, "[search] " + dir + "/manifest.json: dims is 1000000000000000, outside 1..65536");
  nlohmann::json j = m.to_json();
  auto refused = [&](const char* key, int64_t value) {
    nlohmann::json k = j;
    if (std::string(key).rfind("hnsw.", 0) == 0)
      k["hnsw"][std::string(key).substr(5)] = value;
    else
      k[key] = value;
    return input_error([&] { Manifest::from_json(k, "manifest.json"); });
  };
  EXPECT_EQ(refused("hnsw.m", int64_t{1} << 40), "[search] manifest.json: hnsw.m is 1099511627776, outside 2..1024");
  EXPECT_EQ(refused("hnsw.ef_search", -1), "[search] manifest.json: hnsw.ef_search (0: measured) is -1, outside 0..1048576");
  EXPECT_EQ(refused("chunk_tokens", -5), "[search] manifest.json: chunk_tokens is -5, outside 0..2147483647");
  EXPECT_EQ(refused("chunk_overlap", 3), "[search] manifest.json: chunk_overlap (without chunk_tokens) is 3, outside 0..0");
  // The settings a real index keeps still read back.
  EXPECT_EQ(Manifest::from_json(j, "manifest.json").to_json(), j);
  // And a new index is refused the same values before anything is written.
  Manifest big = m;
  big.hnsw_m = 5000;
  e = input_error([&] { SearchIndex::create(test::temp_dir("fuzz_manifest_big") + "/index", big); });
  EXPECT_NE(e.find("hnsw.m is 5000, outside 2..1024"), std::string::npos) << e;
}

}  // namespace
}  // namespace peft
