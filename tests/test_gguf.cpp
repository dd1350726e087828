// GGUF reader and writer, on real files from ../shared and on files built
// byte by byte here; plus corruption and truncation of both.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "io/gguf.h"
#include "kquant_pack.h"
#include "test_util.h"

using namespace peft;
namespace fs = std::filesystem;

namespace {

// A tiny independent GGUF encoder for hand-made (and deliberately broken)
// files: every field is appended explicitly, so tests control each byte.
struct Bytes {
  std::string b;
  template <typename T>
  Bytes& put(T v) {
    char c[sizeof(T)];
    std::memcpy(c, &v, sizeof(T));
    b.append(c, sizeof(T));
    return *this;
  }
  Bytes& u32(uint32_t v) { return put(v); }
  Bytes& u64(uint64_t v) { return put(v); }
  Bytes& str(const std::string& s) {
    u64(s.size());
    b += s;
    return *this;
  }
  Bytes& header(uint32_t version, uint64_t n_tensors, uint64_t n_kv) {
    b += "GGUF";
    return u32(version).u64(n_tensors).u64(n_kv);
  }
  Bytes& pad(size_t a) {
    while (b.size() % a) b += '\0';
    return *this;
  }
};

// Expects that opening `bytes` as a GGUF file throws InputError whose message
// starts with "[gguf] " and contains `needle`.
void expect_rejected(const std::string& bytes, const std::string& needle) {
  std::string dir = test::temp_dir("gguf-bad");
  std::string path = dir + "/bad.gguf";
  test::write_file(path, bytes);
  try {
    GgufFile::open(path);
    ADD_FAILURE() << "accepted a bad file; expected an error containing '" << needle << "'";
  } catch (const InputError& e) {
    std::string msg = e.what();
    EXPECT_EQ(msg.rfind("[gguf] " + path + ": ", 0), 0u) << msg;
    EXPECT_NE(msg.find(needle), std::string::npos) << msg;
  }
  fs::remove_all(dir);
}

// Opens a possibly-corrupt file: it must either parse (and then every tensor
// it reports must be readable) or throw InputError. Returns whether it parsed.
bool open_or_reject(const std::string& path) {
  try {
    auto f = GgufFile::open(path);
    uint64_t sum = 0;
    for (const auto& info : f->tensors()) {
      Tensor t = f->tensor(info.name);
      const uint8_t* p = static_cast<const uint8_t*>(t.data());
      for (int64_t i = 0; i < t.nbytes(); i += 61) sum += p[i];
      if (t.nbytes() > 0) sum += p[t.nbytes() - 1];
    }
    (void)sum;
    return true;
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("[gguf] ", 0), 0u) << e.what();
    return false;
  }
}

bool values_equal(const GgufValue& a, const GgufValue& b) {
  if (a.type != b.type) return false;
  if (a.is_array()) {
    if (a.elem_type != b.elem_type) return false;
    const auto &x = a.as_array(), &y = b.as_array();
    if (x.size() != y.size()) return false;
    for (size_t i = 0; i < x.size(); ++i)
      if (!values_equal(x[i], y[i])) return false;
    return true;
  }
  if (a.v.index() != b.v.index()) return false;
  if (auto* i = std::get_if<int64_t>(&a.v)) return *i == std::get<int64_t>(b.v);
  if (auto* u = std::get_if<uint64_t>(&a.v)) return *u == std::get<uint64_t>(b.v);
  if (auto* d = std::get_if<double>(&a.v)) return *d == std::get<double>(b.v);  // NaN never appears here
  if (auto* c = std::get_if<bool>(&a.v)) return *c == std::get<bool>(b.v);
  return a.as_string() == b.as_string();
}

GgufValue typed(GgufType t, int64_t v) {
  GgufValue x;
  x.type = t;
  if (t == GgufType::U8 || t == GgufType::U16 || t == GgufType::U32 || t == GgufType::U64) {
    x.v = static_cast<uint64_t>(v);
  } else {
    x.v = v;
  }
  return x;
}

GgufValue f64(double d) {
  GgufValue x;
  x.type = GgufType::F64;
  x.v = d;
  return x;
}

Tensor filled(DType dt, Shape shape, uint64_t seed) {
  Tensor f = Tensor::zeros(DType::F32, shape);
  Rng rng(seed);
  for (int64_t i = 0; i < f.numel(); ++i) f.mutable_ptr<float>()[i] = rng.normal();
  return dt == DType::F32 ? f : f.to(dt);
}

// A writer with every metadata type (nested arrays too) and five tensor types.
GgufWriter full_writer(std::vector<std::pair<std::string, Tensor>>* tensors) {
  GgufWriter w;
  w.set("general.architecture", GgufValue::string("llama"));
  w.set("t.u8", typed(GgufType::U8, 255));
  w.set("t.i8", typed(GgufType::I8, -128));
  w.set("t.u16", typed(GgufType::U16, 65535));
  w.set("t.i16", typed(GgufType::I16, -32768));
  w.set("t.u32", GgufValue::u32(4294967295u));
  w.set("t.i32", GgufValue::i32(-2147483647 - 1));
  w.set("t.f32", GgufValue::f32(1.5e-5f));
  w.set("t.bool", GgufValue::boolean(true));
  w.set("t.string", GgufValue::string(std::string("caf\xc3\xa9 \0 nul", 11)));
  w.set("t.empty_string", GgufValue::string(""));
  w.set("t.u64", GgufValue::u64(18446744073709551615ull));
  w.set("t.i64", typed(GgufType::I64, -9223372036854775807ll - 1));
  w.set("t.f64", f64(-3.141592653589793));
  w.set("t.strings", GgufValue::string_array({"a", "", "\xe2\x96\x81the"}));
  w.set("t.f32s", GgufValue::f32_array({0.0f, -1.0f, 3.25f}));
  w.set("t.i32s", GgufValue::i32_array({1, -2, 3}));
  w.set("t.empty_array", GgufValue::array(GgufType::U8, {}));
  w.set("t.bools", GgufValue::array(GgufType::BOOL, {GgufValue::boolean(false), GgufValue::boolean(true)}));
  w.set("t.nested", GgufValue::array(GgufType::ARRAY, {GgufValue::i32_array({7, 8}), GgufValue::string_array({"x"}),
                                                       GgufValue::array(GgufType::ARRAY, {GgufValue::f32_array({2})})}));
  tensors->clear();
  tensors->emplace_back("w.f32", filled(DType::F32, {3, 5}, 1));
  tensors->emplace_back("w.f16", filled(DType::F16, {7}, 2));
  tensors->emplace_back("w.bf16", filled(DType::BF16, {2, 3, 4}, 3));
  tensors->emplace_back("w.q8_0", filled(DType::Q8_0, {2, 64}, 4));
  tensors->emplace_back("w.q4_0", filled(DType::Q4_0, {1, 1, 3, 32}, 5));
  tensors->emplace_back("w.last", filled(DType::F32, {4, 16}, 6));  // 256 bytes: no trailing padding
  for (const auto& [name, t] : *tensors) w.add_tensor(name, t);
  return w;
}

}  // namespace

// ---- real files ----

TEST(Gguf, ReadsStories260K) {
  std::string path = test::shared_path("models/stories260K.gguf");
  auto f = GgufFile::open(path);
  EXPECT_EQ(f->version(), 3u);
  EXPECT_EQ(f->alignment(), 32u);
  EXPECT_EQ(f->tensors().size(), 48u);
  EXPECT_EQ(f->metadata().size(), 19u);
  EXPECT_EQ(f->keys().size(), 19u);
  EXPECT_EQ(f->get_string("general.architecture"), "llama");
  EXPECT_EQ(f->get_int("llama.block_count"), 5);
  EXPECT_EQ(f->get_int("llama.embedding_length"), 64);
  EXPECT_NEAR(f->get_float("llama.attention.layer_norm_rms_epsilon"), 1e-5, 1e-10);
  auto tokens = f->get_string_array("tokenizer.ggml.tokens");
  ASSERT_EQ(tokens.size(), 512u);
  EXPECT_EQ(tokens[0], "<unk>");
  EXPECT_EQ(tokens[1], "<s>");
  EXPECT_EQ(tokens[2], "</s>");
  EXPECT_EQ(f->get_f32_array("tokenizer.ggml.scores").size(), 512u);
  EXPECT_EQ(f->get_int_array("tokenizer.ggml.token_type").size(), 512u);
  // u32 0xffffffff stays unsigned, not -1.
  EXPECT_EQ(f->get_int("tokenizer.ggml.padding_token_id"), 4294967295ll);

  const GgufTensorInfo* emb = f->find_tensor("token_embd.weight");
  ASSERT_NE(emb, nullptr);
  EXPECT_EQ(emb->ne, (std::vector<int64_t>{64, 512}));
  EXPECT_EQ(emb->shape, (Shape{512, 64}));
  EXPECT_EQ(emb->dtype, DType::F32);
  EXPECT_EQ(emb->nbytes, 512 * 64 * 4);
  EXPECT_EQ(f->find_tensor("nope"), nullptr);
  const GgufTensorInfo* norm = f->find_tensor("output_norm.weight");
  ASSERT_NE(norm, nullptr);
  EXPECT_EQ(norm->shape, (Shape{64}));

  Tensor t = f->tensor("token_embd.weight");
  EXPECT_EQ(t.shape(), (Shape{512, 64}));
  double sumsq = 0;
  for (int64_t i = 0; i < t.numel(); ++i) {
    float v = t.ptr<float>()[i];
    ASSERT_TRUE(std::isfinite(v));
    sumsq += double(v) * v;
  }
  EXPECT_GT(sumsq, 0.0);
  // The view keeps the mapping alive after the file object is gone.
  Tensor n = f->tensor("output_norm.weight");
  std::vector<float> before(n.ptr<float>(), n.ptr<float>() + 64);
  f.reset();
  EXPECT_EQ(std::memcmp(before.data(), n.data(), 64 * 4), 0);

  // Every tensor name follows the llama naming and has data inside the file.
  auto g = GgufFile::open(path);
  int blocks = 0;
  for (const auto& info : g->tensors()) {
    if (info.name.rfind("blk.", 0) == 0 && info.name.find(".attn_q.weight") != std::string::npos) ++blocks;
    EXPECT_EQ(info.offset % 32, 0u);
  }
  EXPECT_EQ(blocks, 5);
}

TEST(Gguf, ReadsVocabOnlyFiles) {
  struct Case {
    const char* file;
    const char* model;
    size_t n_tokens;
  };
  // Vocabulary sizes of the original tokenizers: LLaMA 32000, GPT-2 50257,
  // BERT (bge) 30522.
  for (Case c : {Case{"ggml-vocab-llama-spm.gguf", "llama", 32000}, Case{"ggml-vocab-gpt-2.gguf", "gpt2", 50257},
                 Case{"ggml-vocab-bert-bge.gguf", "bert", 30522}}) {
    SCOPED_TRACE(c.file);
    auto f = GgufFile::open(test::shared_path(std::string("tokenizers/llama.cpp-vocab/") + c.file));
    EXPECT_EQ(f->version(), 3u);
    EXPECT_EQ(f->tensors().size(), 0u);
    EXPECT_EQ(f->get_string("tokenizer.ggml.model"), c.model);
    auto tokens = f->get_string_array("tokenizer.ggml.tokens");
    EXPECT_EQ(tokens.size(), c.n_tokens);
    EXPECT_EQ(f->get_int_array("tokenizer.ggml.token_type").size(), c.n_tokens);
    EXPECT_EQ(f->keys().size(), f->metadata().size());
  }
  auto gpt2 = GgufFile::open(test::shared_path("tokenizers/llama.cpp-vocab/ggml-vocab-gpt-2.gguf"));
  auto merges = gpt2->get_string_array("tokenizer.ggml.merges");
  EXPECT_EQ(merges.size(), 50000u);
  EXPECT_EQ(gpt2->get_int("tokenizer.ggml.eos_token_id"), 50256);
  auto spm = GgufFile::open(test::shared_path("tokenizers/llama.cpp-vocab/ggml-vocab-llama-spm.gguf"));
  EXPECT_TRUE(spm->get_bool("tokenizer.ggml.add_bos_token"));
  EXPECT_FALSE(spm->get_bool("tokenizer.ggml.add_eos_token"));
}

// ---- writer ----

TEST(Gguf, WriterRoundTripsEveryTypeByteForByte) {
  for (uint64_t alignment : {32ull, 64ull, 1ull}) {
    SCOPED_TRACE(alignment);
    std::string dir = test::temp_dir("gguf-rt");
    std::vector<std::pair<std::string, Tensor>> tensors;
    GgufWriter w = full_writer(&tensors);
    w.set_alignment(alignment);
    std::string a = dir + "/a.gguf", b = dir + "/b.gguf";
    w.write(a);
    EXPECT_FALSE(fs::exists(a + ".tmp"));

    auto f = GgufFile::open(a);
    EXPECT_EQ(f->version(), 3u);
    EXPECT_EQ(f->alignment(), alignment);
    // A custom alignment is recorded as general.alignment (appended last).
    size_t n_keys = 20 + (alignment != 32 ? 1 : 0);
    ASSERT_EQ(f->keys().size(), n_keys);
    EXPECT_EQ(f->keys()[0], "general.architecture");
    EXPECT_EQ(f->keys()[19], "t.nested");
    if (alignment != 32) {
      EXPECT_EQ(f->get_int("general.alignment"), static_cast<int64_t>(alignment));
    }

    EXPECT_EQ(f->get_int("t.u8"), 255);
    EXPECT_EQ(f->get_int("t.i8"), -128);
    EXPECT_EQ(f->get_int("t.u16"), 65535);
    EXPECT_EQ(f->get_int("t.i16"), -32768);
    EXPECT_EQ(f->get_int("t.u32"), 4294967295ll);
    EXPECT_EQ(f->get_int("t.i32"), -2147483648ll);
    EXPECT_EQ(f->get_float("t.f32"), double(1.5e-5f));
    EXPECT_TRUE(f->get_bool("t.bool"));
    EXPECT_EQ(f->get_string("t.string"), std::string("caf\xc3\xa9 \0 nul", 11));
    EXPECT_EQ(f->get_string("t.empty_string"), "");
    EXPECT_EQ(std::get<uint64_t>(f->get("t.u64").v), 18446744073709551615ull);
    EXPECT_EQ(f->get_int("t.i64"), -9223372036854775807ll - 1);
    EXPECT_EQ(f->get_float("t.f64"), -3.141592653589793);
    EXPECT_EQ(f->get_string_array("t.strings"), (std::vector<std::string>{"a", "", "\xe2\x96\x81the"}));
    EXPECT_EQ(f->get_f32_array("t.f32s"), (std::vector<float>{0.0f, -1.0f, 3.25f}));
    EXPECT_EQ(f->get_int_array("t.i32s"), (std::vector<int64_t>{1, -2, 3}));
    EXPECT_TRUE(f->get("t.empty_array").as_array().empty());
    EXPECT_EQ(f->get("t.empty_array").elem_type, GgufType::U8);
    EXPECT_EQ(f->get_int_array("t.bools"), (std::vector<int64_t>{0, 1}));
    const GgufValue& nested = f->get("t.nested");
    ASSERT_EQ(nested.elem_type, GgufType::ARRAY);
    ASSERT_EQ(nested.as_array().size(), 3u);
    EXPECT_EQ(nested.as_array()[0].elem_type, GgufType::I32);
    EXPECT_EQ(nested.as_array()[0].as_array()[1].as_int(), 8);
    EXPECT_EQ(nested.as_array()[1].as_array()[0].as_string(), "x");
    EXPECT_EQ(nested.as_array()[2].as_array()[0].as_array()[0].as_double(), 2.0);

    ASSERT_EQ(f->tensors().size(), tensors.size());
    for (size_t i = 0; i < tensors.size(); ++i) {
      const auto& [name, t] = tensors[i];
      SCOPED_TRACE(name);
      EXPECT_EQ(f->tensors()[i].name, name);
      Tensor r = f->tensor(name);
      EXPECT_EQ(r.dtype(), t.dtype());
      EXPECT_EQ(r.shape(), t.shape());
      ASSERT_EQ(r.nbytes(), t.nbytes());
      EXPECT_EQ(std::memcmp(r.data(), t.data(), t.nbytes()), 0);
      // Page-aligned mapping: an aligned address means an aligned file offset.
      EXPECT_EQ(reinterpret_cast<uintptr_t>(r.data()) % alignment, 0u);
    }

    // Everything read back, written again in file order: the same bytes.
    GgufWriter w2;
    for (const auto& k : f->keys()) w2.set(k, f->get(k));
    for (const auto& info : f->tensors()) w2.add_tensor(info.name, f->tensor(info.name));
    w2.write(b);
    EXPECT_EQ(test::read_file(a), test::read_file(b));
    fs::remove_all(dir);
  }
}

TEST(Gguf, RewritingStories260KKeepsMetadataAndTensors) {
  std::string src = test::shared_path("models/stories260K.gguf");
  auto f = GgufFile::open(src);
  std::string dir = test::temp_dir("gguf-rewrite");
  std::string out = dir + "/copy.gguf";
  GgufWriter w;
  for (const auto& k : f->keys()) w.set(k, f->get(k));
  for (const auto& info : f->tensors()) w.add_tensor(info.name, f->tensor(info.name));
  w.write(out);

  auto g = GgufFile::open(out);
  EXPECT_EQ(g->keys(), f->keys());
  for (const auto& k : f->keys()) EXPECT_TRUE(values_equal(f->get(k), g->get(k))) << k;
  ASSERT_EQ(g->tensors().size(), f->tensors().size());
  for (size_t i = 0; i < f->tensors().size(); ++i) {
    const auto &a = f->tensors()[i], &b = g->tensors()[i];
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(a.ne, b.ne);
    EXPECT_EQ(a.dtype, b.dtype);
    EXPECT_EQ(a.offset, b.offset);
    ASSERT_EQ(a.nbytes, b.nbytes);
    EXPECT_EQ(std::memcmp(f->tensor(a.name).data(), g->tensor(b.name).data(), a.nbytes), 0) << a.name;
  }
  // The writer lays the file out as llama.cpp does, so the copy is identical.
  EXPECT_EQ(test::read_file(out), test::read_file(src));
  fs::remove_all(dir);
}

TEST(Gguf, WriterRejectsBadInput) {
  std::string dir = test::temp_dir("gguf-wbad");
  std::string path = dir + "/x.gguf";
  auto expect_write_error = [&](const GgufWriter& w, const std::string& needle) {
    try {
      w.write(path);
      ADD_FAILURE() << "wrote a bad file; expected " << needle;
    } catch (const InputError& e) {
      std::string msg = e.what();
      EXPECT_EQ(msg.rfind("[gguf] cannot write '" + path + "'", 0), 0u) << msg;
      EXPECT_NE(msg.find(needle), std::string::npos) << msg;
    }
    EXPECT_FALSE(fs::exists(path));
    EXPECT_FALSE(fs::exists(path + ".tmp"));
  };
  {
    GgufWriter w;
    w.set("k", typed(GgufType::U8, 256));
    expect_write_error(w, "out of range");
  }
  {
    GgufWriter w;
    GgufValue bad = GgufValue::string("x");
    bad.type = GgufType::F32;
    w.set("k", bad);
    expect_write_error(w, "does not hold a float");
  }
  {
    GgufWriter w;
    w.set("k", GgufValue::array(GgufType::I32, {GgufValue::string("x")}));
    expect_write_error(w, "array of i32 holding a string");
  }
  {
    GgufWriter w;
    w.set_alignment(48);
    expect_write_error(w, "not a power of two");
  }
  {
    GgufWriter w;
    w.add_tensor("q", Tensor::zeros(DType::Q8_0, {2, 32}).reshaped({4, 16}));
    expect_write_error(w, "block size");
  }
  {
    GgufWriter w;
    w.add_tensor("t", Tensor::zeros(DType::F32, {1}));
    EXPECT_THROW(w.add_tensor("t", Tensor::zeros(DType::F32, {1})), InputError);
  }
  {
    GgufWriter w;
    EXPECT_THROW(w.write(dir + "/no/such/dir/x.gguf"), InputError);
  }
  fs::remove_all(dir);
}

// ---- metadata getters ----

TEST(Gguf, GettersGiveClearErrors) {
  std::string dir = test::temp_dir("gguf-get");
  std::string path = dir + "/m.gguf";
  GgufWriter w;
  w.set("s", GgufValue::string("hello"));
  w.set("n", GgufValue::u32(7));
  w.set("x", GgufValue::f32(0.5f));
  w.set("b", GgufValue::boolean(false));
  w.set("ints", GgufValue::i32_array({1, 2}));
  w.set("big", GgufValue::u64(1ull << 63));
  w.write(path);
  auto f = GgufFile::open(path);
  auto expect_msg = [&](auto&& fn, const std::string& needle) {
    try {
      fn();
      ADD_FAILURE() << "no error; expected " << needle;
    } catch (const InputError& e) {
      std::string msg = e.what();
      EXPECT_EQ(msg.rfind("[gguf] " + path + ": ", 0), 0u) << msg;
      EXPECT_NE(msg.find(needle), std::string::npos) << msg;
    }
  };
  expect_msg([&] { f->get_string("missing"); }, "key 'missing' is missing");
  expect_msg([&] { f->get("missing"); }, "key 'missing' is missing");
  expect_msg([&] { f->get_int("s"); }, "key 's' has type string, expected an integer");
  expect_msg([&] { f->get_string("n"); }, "key 'n' has type u32, expected string");
  expect_msg([&] { f->get_bool("n"); }, "expected bool");
  expect_msg([&] { f->get_float("s"); }, "expected a number");
  expect_msg([&] { f->get_string_array("ints"); }, "key 'ints' has type array of i32, expected array of string");
  expect_msg([&] { f->get_int_array("s"); }, "expected array of integers");
  expect_msg([&] { f->get_f32_array("n"); }, "expected array of numbers");
  expect_msg([&] { f->get_int("big"); }, "too large");
  expect_msg([&] { f->get_int("s", 3); }, "expected an integer");  // present with the wrong type
  expect_msg([&] { f->tensor("w"); }, "no tensor named 'w'");
  EXPECT_EQ(f->get_int("n"), 7);
  EXPECT_EQ(f->get_float("n"), 7.0);  // integers widen to float
  EXPECT_EQ(f->get_float("x"), 0.5);
  EXPECT_FALSE(f->get_bool("b"));
  EXPECT_EQ(f->get_int("absent", 11), 11);
  EXPECT_EQ(f->get_string("absent", "d"), "d");
  EXPECT_EQ(f->get_float("absent", 2.5), 2.5);
  EXPECT_TRUE(f->get_bool("absent", true));
  EXPECT_EQ(f->get_string("s", "d"), "hello");
  EXPECT_THROW(f->get("s").as_int(), InputError);
  EXPECT_THROW(f->get("n").as_string(), InputError);
  fs::remove_all(dir);
}

// ---- corrupt and hostile files ----

TEST(GgufCorrupt, MissingFileNamesThePath) {
  std::string path = test::temp_dir("gguf-missing") + "/does-not-exist.gguf";
  try {
    GgufFile::open(path);
    FAIL() << "opened a missing file";
  } catch (const InputError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("[gguf] " + path), std::string::npos) << msg;
    EXPECT_NE(msg.find("No such file"), std::string::npos) << msg;
  }
  EXPECT_THROW(GgufFile::open(fs::path(path).parent_path().string()), InputError);  // a directory
  fs::remove_all(fs::path(path).parent_path());
}

TEST(GgufCorrupt, HandMadeHeaders) {
  expect_rejected("", "empty");
  expect_rejected("GGU", "not a GGUF file");
  expect_rejected(std::string("GGML\x03\0\0\0", 8), "not a GGUF file (starts with 'GGML'");
  expect_rejected(std::string("\x7f" "ELF", 4), "starts with '\\x7fELF'");
  expect_rejected(Bytes().header(1, 0, 0).b, "version 1 is not supported");
  expect_rejected(Bytes().header(99, 0, 0).b, "unsupported GGUF version 99");
  expect_rejected(Bytes().header(0x03000000, 0, 0).b, "big-endian");
  expect_rejected(std::string("GGUF\x03\0\0", 7), "truncated");
  expect_rejected(Bytes().header(3, 0, 1ull << 60).b, "metadata entries");
  expect_rejected(Bytes().header(3, 1ull << 60, 0).b, "tensors");

  // Version 2 parses like version 3.
  {
    std::string dir = test::temp_dir("gguf-v2");
    test::write_file(dir + "/v2.gguf", Bytes().header(2, 0, 1).str("k").u32(8).str("v").b);
    auto f = GgufFile::open(dir + "/v2.gguf");
    EXPECT_EQ(f->version(), 2u);
    EXPECT_EQ(f->get_string("k"), "v");
    fs::remove_all(dir);
  }

  // Huge lengths and counts are rejected before anything is allocated.
  expect_rejected(Bytes().header(3, 0, 1).u64(1ull << 62).b + std::string(64, 'x'), "claims 4611686018427387904 bytes");
  expect_rejected(Bytes().header(3, 0, 1).str("k").u32(8).u64(~0ull).b, "claims");
  expect_rejected(Bytes().header(3, 0, 1).str("k").u32(9).u32(0).u64(1ull << 61).b, "array items");
  expect_rejected(Bytes().header(3, 0, 1).str("k").u32(9).u32(8).u64(1ull << 40).u64(0).b, "array items");
  expect_rejected(Bytes().header(3, 0, 1).str("k").u32(13).u32(0).b, "unknown value type 13");
  expect_rejected(Bytes().header(3, 0, 1).str("k").u32(9).u32(77).u64(0).b, "array of unknown type 77");
  expect_rejected(Bytes().header(3, 0, 1).str("k").u32(7).put<uint8_t>(2).b, "bool value 2");
  expect_rejected(Bytes().header(3, 0, 2).str("k").u32(4).u32(1).str("k").u32(4).u32(2).b, "duplicate key 'k'");
  // Arrays nested without end exhaust a depth limit, not the stack.
  {
    Bytes b;
    b.header(3, 0, 1).str("deep").u32(9);
    for (int i = 0; i < 100; ++i) b.u32(9).u64(1);
    b.u32(0).u64(0);
    expect_rejected(b.b, "nests arrays deeper");
  }
  expect_rejected(Bytes().header(3, 0, 1).str("general.alignment").u32(4).u32(48).b, "not a power of two");
  expect_rejected(Bytes().header(3, 0, 1).str("general.alignment").u32(4).u32(0).b, "not a power of two");
  expect_rejected(Bytes().header(3, 0, 1).str("general.alignment").u32(8).str("32").b, "general.alignment has type string");
  expect_rejected(Bytes().header(3, 0, 1).str("general.alignment").u32(5).put<int32_t>(-32).b,
                  "general.alignment -32 is not a power of two");
  expect_rejected(Bytes().header(3, 0, 1).str("k").u32(6).put<uint16_t>(0).b,
                  "file is truncated: value of key 'k' at offset 37 needs 4 bytes but only 2 remain");
}

namespace {
// One tensor info: name, dims (fastest first), ggml type, offset.
Bytes& tensor_info(Bytes& b, const std::string& name, std::vector<uint64_t> ne, uint32_t type, uint64_t offset) {
  b.str(name).u32(static_cast<uint32_t>(ne.size()));
  for (uint64_t d : ne) b.u64(d);
  return b.u32(type).u64(offset);
}
}  // namespace

TEST(GgufCorrupt, HandMadeTensorInfos) {
  // A valid two-tensor file built by hand, to show the encoder is right.
  {
    Bytes b;
    b.header(3, 2, 0);
    tensor_info(b, "a", {4, 2}, 0, 0);
    tensor_info(b, "b", {32}, 8, 32);
    b.pad(32);
    for (int i = 0; i < 8; ++i) b.put<float>(float(i));
    uint16_t one = 0x3c00;  // f16 1.0
    b.put(one);
    for (int i = 0; i < 32; ++i) b.put<int8_t>(int8_t(i - 16));
    std::string dir = test::temp_dir("gguf-ok");
    test::write_file(dir + "/ok.gguf", b.b);
    auto f = GgufFile::open(dir + "/ok.gguf");
    Tensor a = f->tensor("a");
    EXPECT_EQ(a.shape(), (Shape{2, 4}));
    EXPECT_EQ(a.ptr<float>()[5], 5.0f);
    Tensor q = f->tensor("b").to_f32();
    EXPECT_EQ(q.ptr<float>()[0], -16.0f);
    EXPECT_EQ(q.ptr<float>()[31], 15.0f);
    fs::remove_all(dir);
  }
  auto one_tensor = [](std::vector<uint64_t> ne, uint32_t type, uint64_t offset, size_t data_bytes) {
    Bytes b;
    b.header(3, 1, 0);
    tensor_info(b, "t", ne, type, offset);
    b.pad(32);
    b.b.append(data_bytes, '\0');
    return b.b;
  };
  expect_rejected(one_tensor({4, 4}, 0, 0, 63), "tensor 't' (64 bytes at data offset 0) ends past the end of the file");
  expect_rejected(one_tensor({4}, 0, 1ull << 62, 16), "ends past the end of the file");
  expect_rejected(one_tensor({4}, 0, ~0ull - 31, 16), "ends past the end of the file");
  expect_rejected(one_tensor({4}, 0, 16, 64), "offset 16, not a multiple of the alignment 32");
  expect_rejected(one_tensor({1ull << 62, 1ull << 62}, 0, 0, 16), "too many elements");
  expect_rejected(one_tensor({1ull << 62}, 0, 0, 16), "too large");
  expect_rejected(one_tensor({~0ull}, 0, 0, 16), "negative dimension");
  expect_rejected(one_tensor({1, 1, 1, 1, 1}, 0, 0, 16), "5 dimensions");
  expect_rejected(one_tensor({256}, 11, 0, 1024), "tensor 't' has ggml type 11 (Q3_K) which peft.cpp cannot read yet");
  expect_rejected(one_tensor({256}, 1000, 0, 1024), "ggml type 1000 (unknown)");
  expect_rejected(one_tensor({48}, 8, 0, 1024), "not a multiple of the Q8_0 block size 32");
  {
    Bytes b;
    b.header(3, 2, 0);
    tensor_info(b, "t", {4}, 0, 0);
    tensor_info(b, "t", {4}, 0, 32);
    b.pad(32).b.append(64, '\0');
    expect_rejected(b.b, "duplicate tensor name 't'");
  }
  {
    Bytes b;  // data section would start past the end of the file
    b.header(3, 1, 0);
    tensor_info(b, "t", {0}, 0, 0);
    expect_rejected(b.b, "ends before the data section");
  }
}

TEST(GgufCorrupt, EveryPrefixOfASmallFileIsRejected) {
  std::string dir = test::temp_dir("gguf-prefix");
  std::vector<std::pair<std::string, Tensor>> tensors;
  full_writer(&tensors).write(dir + "/full.gguf");
  std::string bytes = test::read_file(dir + "/full.gguf");
  ASSERT_TRUE(open_or_reject(dir + "/full.gguf"));
  // The last tensor fills its padded slot, so no proper prefix is complete.
  std::string path = dir + "/cut.gguf";
  for (size_t n = 0; n < bytes.size(); ++n) {
    test::write_file(path, bytes.substr(0, n));
    EXPECT_FALSE(open_or_reject(path)) << "prefix of " << n << " bytes parsed";
  }
  fs::remove_all(dir);
}

TEST(GgufCorrupt, PrefixesOfStories260KAreRejected) {
  std::string src = test::shared_path("models/stories260K.gguf");
  std::string bytes = test::read_file(src);
  std::string dir = test::temp_dir("gguf-prefix260");
  std::string path = dir + "/cut.gguf";
  std::vector<size_t> lengths;
  for (size_t n = 0; n < 20000 && n < bytes.size(); n += 97) lengths.push_back(n);  // header, KV, infos
  Rng rng(260);
  for (int i = 0; i < 60; ++i) lengths.push_back(rng.below(bytes.size()));
  lengths.push_back(bytes.size() - 1);
  for (size_t n : lengths) {
    test::write_file(path, bytes.substr(0, n));
    EXPECT_FALSE(open_or_reject(path)) << "prefix of " << n << " bytes parsed";
  }
  fs::remove_all(dir);
}

namespace {
// Flips 1 to 3 random bits in bytes [0, region) of `bytes`, `trials` times,
// and opens each result: it must parse or throw InputError, never crash.
void flip_bits(const std::string& bytes, size_t region, int trials, uint64_t seed, int* parsed) {
  std::string dir = test::temp_dir("gguf-flip");
  std::string path = dir + "/flipped.gguf";
  Rng rng(seed);
  for (int t = 0; t < trials; ++t) {
    std::string b = bytes;
    int flips = 1 + static_cast<int>(rng.below(3));
    for (int k = 0; k < flips; ++k) {
      size_t at = rng.below(region);
      b[at] = static_cast<char>(b[at] ^ (1 << rng.below(8)));
    }
    test::write_file(path, b);
    if (open_or_reject(path)) ++*parsed;
  }
  fs::remove_all(dir);
}
}  // namespace

TEST(GgufCorrupt, RandomBitFlipsParseOrThrow) {
  std::string dir = test::temp_dir("gguf-flipsrc");
  std::vector<std::pair<std::string, Tensor>> tensors;
  full_writer(&tensors).write(dir + "/full.gguf");
  std::string small = test::read_file(dir + "/full.gguf");
  // The metadata region is everything before the first tensor's data.
  size_t small_meta = small.size();
  {
    auto f = GgufFile::open(dir + "/full.gguf");
    for (const auto& info : f->tensors()) small_meta -= (info.nbytes + 31) / 32 * 32;
  }
  int parsed = 0;
  flip_bits(small, small_meta, 400, 1, &parsed);
  flip_bits(small, 24, 100, 2, &parsed);  // header fields only

  std::string big = test::read_file(test::shared_path("models/stories260K.gguf"));
  size_t big_meta = big.size();
  {
    auto f = GgufFile::open(test::shared_path("models/stories260K.gguf"));
    for (const auto& info : f->tensors()) big_meta -= (info.nbytes + 31) / 32 * 32;
  }
  EXPECT_GT(big_meta, 10000u);
  flip_bits(big, big_meta, 200, 3, &parsed);
  // Some flips land in string bytes or float values and still parse; most
  // hit lengths, counts or types and must be rejected.
  EXPECT_GT(parsed, 0);
  EXPECT_LT(parsed, 700);
  fs::remove_all(dir);
}

// ---- K-quants, decoded from blocks packed by the independent encoder ----

namespace {

struct KBlock {
  float d, dmin;
  int sc[8], mn[8], q[256];
};

KBlock random_kblock(Rng& rng, int qmax) {
  KBlock k;
  k.d = rng.uniform(0.001f, 0.1f);
  k.dmin = rng.uniform(0.001f, 0.05f);
  for (int j = 0; j < 8; ++j) {
    k.sc[j] = static_cast<int>(rng.below(64));
    k.mn[j] = static_cast<int>(rng.below(64));
  }
  k.sc[7] = 63;  // extreme values exercise every packed bit
  k.mn[4] = 63;
  for (int i = 0; i < 256; ++i) k.q[i] = static_cast<int>(rng.below(qmax + 1));
  return k;
}

// x_i = d·sc_{i/32}·q_i − dmin·m_{i/32}, with d and dmin as stored (f16).
void expect_kblock(const KBlock& k, const float* y) {
  double d = f16_to_f32(f32_to_f16(k.d)), dmin = f16_to_f32(f32_to_f16(k.dmin));
  for (int i = 0; i < 256; ++i) {
    double want = d * k.sc[i / 32] * k.q[i] - dmin * k.mn[i / 32];
    EXPECT_NEAR(y[i], want, 1e-5 * (1 + std::fabs(want))) << "value " << i;
  }
}

// Packs random blocks with `pack`, decodes them as `type`, checks each value.
template <typename Pack>
void check_k_blocks(DType type, int qmax, int nblocks, uint64_t seed, Pack pack) {
  Rng rng(seed);
  std::vector<KBlock> blocks;
  std::vector<uint8_t> bytes;
  for (int b = 0; b < nblocks; ++b) {
    blocks.push_back(random_kblock(rng, qmax));
    const KBlock& k = blocks.back();
    std::vector<uint8_t> blk = pack(k.d, k.dmin, k.sc, k.mn, k.q);
    ASSERT_EQ(static_cast<int64_t>(blk.size()), dtype_block_bytes(type));
    bytes.insert(bytes.end(), blk.begin(), blk.end());
  }
  std::vector<float> y(256 * nblocks);
  to_f32(type, bytes.data(), y.data(), 256 * nblocks);
  for (int b = 0; b < nblocks; ++b) expect_kblock(blocks[b], y.data() + 256 * b);
}

}  // namespace

TEST(KQuants, Q4KDecodesHandPackedBlocks) { check_k_blocks(DType::Q4_K, 15, 3, 44, test::pack_q4_k); }

TEST(KQuants, Q5KDecodesHandPackedBlocks) { check_k_blocks(DType::Q5_K, 31, 2, 55, test::pack_q5_k); }

TEST(KQuants, Q6KDecodesHandPackedBlocks) {
  Rng rng(66);
  for (int trial = 0; trial < 3; ++trial) {
    int q[256];
    int8_t sc[16];
    for (int i = 0; i < 256; ++i) q[i] = static_cast<int>(rng.below(64));
    for (int j = 0; j < 16; ++j) sc[j] = static_cast<int8_t>(static_cast<int>(rng.below(256)) - 128);
    sc[3] = -128;
    sc[12] = 127;
    float d = rng.uniform(0.0005f, 0.01f);
    std::vector<uint8_t> blk = test::pack_q6_k(d, sc, q);
    ASSERT_EQ(static_cast<int64_t>(blk.size()), dtype_block_bytes(DType::Q6_K));
    float y[256];
    to_f32(DType::Q6_K, blk.data(), y, 256);
    double dd = f16_to_f32(f32_to_f16(d));
    for (int i = 0; i < 256; ++i) {
      double want = dd * sc[i / 16] * (q[i] - 32);
      EXPECT_NEAR(y[i], want, 1e-5 * (1 + std::fabs(want))) << "value " << i;
    }
  }
}

TEST(KQuants, ReadThroughGgufAsTensors) {
  // A Q4_K tensor of 2 rows × 256 whose every quant is 15 and every min 0:
  // each value is d·sc of its sub-block.
  int sc[8] = {1, 2, 3, 4, 5, 6, 7, 8}, mn[8] = {}, q[256];
  for (int& v : q) v = 15;
  std::vector<uint8_t> blk = test::pack_q4_k(0.5f, 0.0f, sc, mn, q);
  Tensor t = Tensor::zeros(DType::Q4_K, {2, 256});
  std::memcpy(t.mutable_data(), blk.data(), 144);
  std::memcpy(static_cast<uint8_t*>(t.mutable_data()) + 144, blk.data(), 144);
  std::string dir = test::temp_dir("gguf-kq");
  GgufWriter w;
  w.add_tensor("w", t);
  w.write(dir + "/k.gguf");
  auto f = GgufFile::open(dir + "/k.gguf");
  EXPECT_EQ(f->find_tensor("w")->dtype, DType::Q4_K);
  EXPECT_EQ(f->find_tensor("w")->nbytes, 288);
  Tensor y = f->tensor("w").to_f32();
  for (int r = 0; r < 2; ++r)
    for (int i = 0; i < 256; ++i) EXPECT_EQ(y.ptr<float>()[r * 256 + i], 0.5f * sc[i / 32] * 15) << i;
  fs::remove_all(dir);
}

TEST(GgufTypes, MapsGgmlTypeIds) {
  EXPECT_EQ(ggml_type_to_dtype(0, "x"), DType::F32);
  EXPECT_EQ(ggml_type_to_dtype(1, "x"), DType::F16);
  EXPECT_EQ(ggml_type_to_dtype(2, "x"), DType::Q4_0);
  EXPECT_EQ(ggml_type_to_dtype(8, "x"), DType::Q8_0);
  EXPECT_EQ(ggml_type_to_dtype(12, "x"), DType::Q4_K);
  EXPECT_EQ(ggml_type_to_dtype(13, "x"), DType::Q5_K);
  EXPECT_EQ(ggml_type_to_dtype(14, "x"), DType::Q6_K);
  EXPECT_EQ(ggml_type_to_dtype(26, "x"), DType::I32);
  EXPECT_EQ(ggml_type_to_dtype(28, "x"), DType::F64);
  EXPECT_EQ(ggml_type_to_dtype(30, "x"), DType::BF16);
  for (DType t : {DType::F32, DType::F16, DType::BF16, DType::F64, DType::I32, DType::Q8_0, DType::Q4_0, DType::Q4_K,
                  DType::Q5_K, DType::Q6_K}) {
    EXPECT_EQ(ggml_type_to_dtype(dtype_to_ggml_type(t), "x"), t);
  }
  try {
    ggml_type_to_dtype(3, "blk.0.attn_q.weight");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "[gguf] tensor 'blk.0.attn_q.weight' has ggml type 3 (Q4_1) which peft.cpp cannot read yet");
  }
  EXPECT_STREQ(ggml_type_name(15), "Q8_K");
  EXPECT_STREQ(ggml_type_name(24), "I8");
  EXPECT_STREQ(ggml_type_name(27), "I64");
}
