// safetensors reader, writer and sharded model directories.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>

#include "core/error.h"
#include "io/safetensors.h"
#include "io/safetensors_model.h"
#include "test_util.h"

namespace fs = std::filesystem;
using namespace peft;
using peft::test::read_file;
using peft::test::temp_dir;
using peft::test::write_file;

namespace {

// f32 tensor holding start, start + 0.25, start + 0.5, ...
Tensor ramp_f32(Shape shape, float start) {
  Tensor t = Tensor::zeros(DType::F32, std::move(shape));
  float* p = t.mutable_ptr<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = start + 0.25f * static_cast<float>(i);
  return t;
}

// A tensor of raw 16-bit patterns (f16 or bf16), including NaN/Inf bits, so a
// round trip must preserve bits, not just values.
Tensor bits16(DType dt, Shape shape, uint16_t seed) {
  Tensor t = Tensor::zeros(dt, std::move(shape));
  uint16_t* p = t.mutable_ptr<uint16_t>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<uint16_t>(seed + 0x1357 * i);
  if (t.numel() > 1) p[1] = 0x7fc1;  // a NaN with payload
  return t;
}

std::string le64(uint64_t n) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return s;
}

// A file image from a header text and data bytes, with the length field set
// to the header's true length unless `len` overrides it.
std::string image(const std::string& header, const std::string& data, int64_t len = -1) {
  return le64(len < 0 ? header.size() : static_cast<uint64_t>(len)) + header + data;
}

std::shared_ptr<SafetensorsFile> parse(const std::string& bytes) {
  auto buf = std::make_shared<std::string>(bytes);
  return SafetensorsFile::from_bytes("mem.safetensors", reinterpret_cast<const uint8_t*>(buf->data()), buf->size(),
                                     buf);
}

// Parses `bytes` and expects InputError whose message holds `needle`.
void expect_bad(const std::string& bytes, const std::string& needle) {
  try {
    parse(bytes);
    ADD_FAILURE() << "no error; expected one mentioning: " << needle;
  } catch (const InputError& e) {
    std::string msg = e.what();
    EXPECT_EQ(msg.rfind("[safetensors] mem.safetensors: ", 0), 0u) << msg;
    EXPECT_NE(msg.find(needle), std::string::npos) << "message: " << msg << "\nexpected to contain: " << needle;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "not one line: " << msg;
  }
}

std::string zeros(size_t n) { return std::string(n, '\0'); }

bool same_bytes(const Tensor& a, const Tensor& b) {
  return a.nbytes() == b.nbytes() && std::memcmp(a.data(), b.data(), a.nbytes()) == 0;
}

}  // namespace

TEST(Safetensors, RoundTripAllTypesAndMetadata) {
  std::map<std::string, Tensor> in;
  in["model.layers.0.self_attn.q_proj.weight"] = ramp_f32({4, 3}, -1.0f);
  in["model.norm.weight"] = ramp_f32({3}, 2.0f);
  in["scalar"] = ramp_f32({}, 7.0f);
  in["empty"] = Tensor::zeros(DType::F32, {0, 5});
  in["half"] = bits16(DType::F16, {2, 5}, 11);
  in["brain"] = bits16(DType::BF16, {3, 3}, 29);
  Tensor f64 = Tensor::zeros(DType::F64, {3});
  f64.mutable_ptr<double>()[2] = 1.0 / 3.0;
  in["double"] = f64;
  Tensor i32 = Tensor::zeros(DType::I32, {2, 2});
  for (int i = 0; i < 4; ++i) i32.mutable_ptr<int32_t>()[i] = -5 + 1000000 * i;
  in["ints"] = i32;

  SafetensorsWriter w;
  for (auto& [n, t] : in) w.add(n, t);
  w.set_metadata("format", "pt");
  w.set_metadata("note", "quote \" and ünïcode");
  std::string dir = temp_dir("st-rt");
  std::string path = dir + "/m.safetensors";
  w.write(path);
  EXPECT_FALSE(fs::exists(path + ".tmp"));

  auto f = SafetensorsFile::open(path);
  EXPECT_EQ(f->size(), in.size());
  std::vector<std::string> want_names;
  for (auto& [n, t] : in) want_names.push_back(n);
  EXPECT_EQ(f->names(), want_names);
  EXPECT_EQ(f->metadata().size(), 2u);
  EXPECT_EQ(f->metadata().at("format"), "pt");
  EXPECT_EQ(f->metadata().at("note"), "quote \" and ünïcode");
  for (auto& [n, t] : in) {
    SCOPED_TRACE(n);
    ASSERT_TRUE(f->has(n));
    EXPECT_EQ(f->dtype(n), t.dtype());
    EXPECT_EQ(f->shape(n), t.shape());
    Tensor r = f->tensor(n);
    EXPECT_EQ(r.dtype(), t.dtype());
    EXPECT_EQ(r.shape(), t.shape());
    EXPECT_TRUE(same_bytes(r, t));
  }
  EXPECT_EQ(f->entry("half").dtype, "F16");
  EXPECT_EQ(f->entry("brain").dtype, "BF16");
  EXPECT_FALSE(f->has("nope"));
  EXPECT_THROW(f->tensor("nope"), InputError);

  // A tensor outlives the file object: the mapping is held by the tensor.
  Tensor kept = f->tensor("model.norm.weight");
  f.reset();
  EXPECT_EQ(kept.ptr<float>()[2], 2.5f);
  fs::remove_all(dir);
}

TEST(Safetensors, LayoutMatchesHuggingFaceWriter) {
  SafetensorsWriter w;
  w.add("zeta", ramp_f32({2}, 0));
  w.add("alpha", bits16(DType::BF16, {3}, 1));   // 6 bytes: later tensors stay aligned only by order
  w.add("beta", bits16(DType::F16, {1}, 2));
  w.add("gamma", ramp_f32({1, 3}, 1));
  w.add("d", Tensor::zeros(DType::F64, {1}));
  w.add("i", Tensor::zeros(DType::I32, {2}));
  w.set_metadata("format", "pt");
  std::string dir = temp_dir("st-layout");
  std::string path = dir + "/m.safetensors";
  w.write(path);
  std::string bytes = read_file(path);

  ASSERT_GE(bytes.size(), 8u);
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ(n % 8, 0u);
  ASSERT_LE(8 + n, bytes.size());
  std::string header = bytes.substr(8, n);
  EXPECT_EQ(header, w.header_bytes().substr(8));
  // Padding is spaces after the closing brace, fewer than 8 of them.
  size_t close = header.find_last_of('}');
  EXPECT_LT(header.size() - close - 1, 8u);
  for (size_t i = close + 1; i < header.size(); ++i) EXPECT_EQ(header[i], ' ');

  // Key order: __metadata__, then by alignment (F64, F32, I32, BF16, F16), then name.
  auto j = nlohmann::ordered_json::parse(header);
  std::vector<std::string> keys;
  for (auto& [k, v] : j.items()) keys.push_back(k);
  std::vector<std::string> want = {"__metadata__", "d", "gamma", "zeta", "i", "alpha", "beta"};
  EXPECT_EQ(keys, want);
  // Offsets contiguous from 0 in that order and ending at the end of the file.
  uint64_t at = 0;
  for (size_t k = 1; k < keys.size(); ++k) {
    auto off = j[keys[k]]["data_offsets"];
    EXPECT_EQ(off[0].get<uint64_t>(), at) << keys[k];
    at = off[1].get<uint64_t>();
  }
  EXPECT_EQ(8 + n + at, bytes.size());
  // Compact JSON: no spaces inside the object.
  EXPECT_EQ(header.substr(0, close + 1).find(' '), std::string::npos);
  fs::remove_all(dir);
}

// Byte images that Hugging Face's own writer produces for the same inputs
// (the format's reference tests): our writer must agree byte for byte.
TEST(Safetensors, ByteExactAgainstReferenceImages) {
  {
    SafetensorsWriter w;
    std::string dir = temp_dir("st-exact");
    w.write(dir + "/e.safetensors");
    EXPECT_EQ(read_file(dir + "/e.safetensors"), le64(8) + "{}      ");
    w.set_metadata("framework", "pt");
    w.write(dir + "/e.safetensors");
    EXPECT_EQ(read_file(dir + "/e.safetensors"), le64(40) + "{\"__metadata__\":{\"framework\":\"pt\"}}     ");
    fs::remove_all(dir);
  }
  std::string data;
  for (float v : {0.f, 1.f, 2.f, 3.f, 4.f, 5.f}) data.append(reinterpret_cast<const char*>(&v), 4);
  Tensor t = ramp_f32({1, 2, 3}, 0);
  for (int i = 0; i < 6; ++i) t.mutable_ptr<float>()[i] = static_cast<float>(i);
  {
    SafetensorsWriter w;
    w.add("attn.0", t);
    EXPECT_EQ(w.header_bytes(), le64(64) + "{\"attn.0\":{\"dtype\":\"F32\",\"shape\":[1,2,3],\"data_offsets\":[0,24]}}");
  }
  {
    SafetensorsWriter w;
    w.add("attn0", t.reshaped({1, 1, 2, 3}));
    EXPECT_EQ(w.header_bytes(),
              le64(72) + "{\"attn0\":{\"dtype\":\"F32\",\"shape\":[1,1,2,3],\"data_offsets\":[0,24]}}       ");
    auto f = parse(w.header_bytes() + data);
    EXPECT_EQ(f->tensor("attn0").ptr<float>()[5], 5.0f);
  }
}

TEST(Safetensors, ReadsForeignHeadersAndMisalignedData) {
  // Keys unsorted, spaces in the JSON, header length not a multiple of 4, so
  // the data section starts misaligned: values must still read right.
  std::string header = "{ \"b\": {\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}, "
                       "\"a\":{\"data_offsets\":[8,12],\"shape\":[1],\"dtype\":\"I32\",\"extra\":1} }";
  if (header.size() % 4 == 0) header += " ";
  std::string data;
  float b[2] = {1.5f, -2.0f};
  int32_t a = 123456;
  data.append(reinterpret_cast<const char*>(b), 8);
  data.append(reinterpret_cast<const char*>(&a), 4);
  auto f = parse(image(header, data));
  EXPECT_EQ(f->names(), (std::vector<std::string>{"a", "b"}));
  Tensor tb = f->tensor("b");
  EXPECT_EQ(reinterpret_cast<uintptr_t>(tb.data()) % 4, 0u);
  EXPECT_EQ(tb.ptr<float>()[0], 1.5f);
  EXPECT_EQ(tb.ptr<float>()[1], -2.0f);
  EXPECT_EQ(f->tensor("a").ptr<int32_t>()[0], 123456);
  EXPECT_TRUE(f->metadata().empty());

  // Empty file of the format: no tensors at all.
  auto e = parse(image("{}", ""));
  EXPECT_EQ(e->size(), 0u);
  // Zero-size tensors may share an offset with their neighbours.
  auto z = parse(image("{\"z\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]},"
                       "\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                       "\"__metadata__\":null}",
                       zeros(4)));
  EXPECT_EQ(z->tensor("z").numel(), 0);
}

TEST(Safetensors, DtypesWeDoNotReadFailOnUseNotOnOpen) {
  // An I64 buffer (e.g. position ids) next to a float weight: the file opens,
  // the weight reads, and the I64 tensor says what it is.
  auto f = parse(image("{\"pos\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,16]},"
                       "\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[16,24]}}",
                       zeros(24)));
  EXPECT_EQ(f->names().size(), 2u);
  EXPECT_EQ(f->tensor("w").numel(), 2);
  EXPECT_EQ(f->entry("pos").dtype, "I64");
  for (int k = 0; k < 2; ++k) {
    try {
      if (k == 0) f->tensor("pos");
      else f->dtype("pos");
      ADD_FAILURE() << "no error for an I64 tensor";
    } catch (const InputError& e) {
      std::string msg = e.what();
      EXPECT_NE(msg.find("'pos'"), std::string::npos) << msg;
      EXPECT_NE(msg.find("I64"), std::string::npos) << msg;
    }
  }
}

TEST(Safetensors, MalformedFilesGiveOneLineErrors) {
  const std::string ok_entry = "{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}";
  auto one = [](const std::string& entry) { return "{\"t\":" + entry + "}"; };

  expect_bad("", "too short");
  expect_bad("\x05\0\0", "too short");
  expect_bad(le64(200'000'000) + "{}", "100 MB");
  expect_bad(le64(UINT64_MAX) + "{}", "100 MB");
  expect_bad(image("{}", "", 1000), "runs past the end");
  expect_bad(image("{}", "", 0), "does not start with '{'");
  expect_bad(image("[1,2]", ""), "does not start with '{'");
  expect_bad(image("{not json}", ""), "not valid JSON");
  expect_bad(image("{\"t\":" + ok_entry, zeros(8)), "not valid JSON");  // cut short
  expect_bad(image("{\"t\xff\":1}", ""), "not valid JSON");              // bad UTF-8
  expect_bad(image("{} x", ""), "not valid JSON");                        // trailing junk
  expect_bad(image(one("5"), ""), "not an object");
  expect_bad(image(one("{\"shape\":[2],\"data_offsets\":[0,8]}"), zeros(8)), "no 'dtype'");
  expect_bad(image(one("{\"dtype\":\"F32\",\"data_offsets\":[0,8]}"), zeros(8)), "no 'shape'");
  expect_bad(image(one("{\"dtype\":\"F32\",\"shape\":[2]}"), zeros(8)), "no 'data_offsets'");
  expect_bad(image(one("{\"dtype\":7,\"shape\":[2],\"data_offsets\":[0,8]}"), zeros(8)), "dtype must be a string");
  expect_bad(image(one("{\"dtype\":\"F33\",\"shape\":[2],\"data_offsets\":[0,8]}"), zeros(8)), "unknown dtype 'F33'");
  expect_bad(image(one("{\"dtype\":\"F32\",\"shape\":[2,-1],\"data_offsets\":[0,8]}"), zeros(8)), "non-negative");
  expect_bad(image(one("{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,8]}"), zeros(8)), "non-negative");
  expect_bad(image(one("{\"dtype\":\"F32\",\"shape\":\"2\",\"data_offsets\":[0,8]}"), zeros(8)), "shape must be");
  expect_bad(image(one("{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,16],\"data_offsets\":[0,8]}"), zeros(8)),
             "more bytes than any file");
  expect_bad(image(one("{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}"), zeros(8)), "end before");
  expect_bad(image(one("{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,1000]}"), zeros(8)), "past the data");
  expect_bad(image(one("{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}"), zeros(8)), "two non-negative");
  expect_bad(image(one("{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[-8,0]}"), zeros(8)), "two non-negative");
  expect_bad(image(one("{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}"), zeros(8)), "needs 12");
  expect_bad(image(one("{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[0,8]}"), zeros(8)), "needs 4");
  // Overlap, hole, trailing bytes.
  expect_bad(image("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                   "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
                   zeros(12)),
             "'a' and 'b' overlap");
  expect_bad(image("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                   "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
                   zeros(12)),
             "4 unused bytes before tensor 'b'");
  expect_bad(image("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", zeros(8)),
             "unused bytes before tensor 'a'");
  expect_bad(image(one(ok_entry), zeros(12)), "4 bytes after the last tensor");
  expect_bad(image("{\"a\":" + ok_entry + ",\"a\":" + ok_entry + "}", zeros(8)), "names 'a' twice");
  // __metadata__ must be str -> str.
  expect_bad(image("{\"__metadata__\":{\"k\":1}}", ""), "key 'k' holds 1");
  expect_bad(image("{\"__metadata__\":[\"k\"]}", ""), "__metadata__ must be an object");
  // Hostile nesting.
  std::string deep = "{\"t\":" + std::string(200, '[') + std::string(200, ']') + "}";
  expect_bad(image(deep, ""), "nests deeper");
}

TEST(Safetensors, OpenErrorsNameThePath) {
  std::string dir = temp_dir("st-open");
  for (const std::string& p : {dir + "/absent.safetensors", dir}) {
    try {
      SafetensorsFile::open(p);
      ADD_FAILURE() << "opened " << p;
    } catch (const InputError& e) {
      EXPECT_EQ(std::string(e.what()).rfind("[safetensors] " + p + ": cannot open", 0), 0u) << e.what();
    }
  }
  write_file(dir + "/short.safetensors", "abc");
  try {
    SafetensorsFile::open(dir + "/short.safetensors");
    ADD_FAILURE();
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()), "[safetensors] " + dir + "/short.safetensors: file is 3 bytes, too short for the "
                                     "8-byte header length");
  }
  fs::remove_all(dir);
}

TEST(Safetensors, WriterRejectsWhatItCannotWrite) {
  SafetensorsWriter w;
  w.add("a", ramp_f32({2}, 0));
  EXPECT_THROW(w.add("a", ramp_f32({2}, 0)), InputError);
  EXPECT_THROW(w.add("", ramp_f32({2}, 0)), InputError);
  EXPECT_THROW(w.add("__metadata__", ramp_f32({2}, 0)), InputError);
  EXPECT_THROW(w.add("q", Tensor::zeros(DType::Q8_0, {32})), InputError);
  EXPECT_THROW(w.add("none", Tensor()), InputError);
  std::string dir = temp_dir("st-w");
  std::string bad_path = dir + "/no/such/dir/x.safetensors";
  try {
    w.write(bad_path);
    ADD_FAILURE();
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("[safetensors] " + bad_path + ": cannot write", 0), 0u) << e.what();
  }
  // Rewriting replaces the file whole.
  std::string path = dir + "/x.safetensors";
  write_file(path, "old contents that are not safetensors");
  w.write(path);
  EXPECT_EQ(SafetensorsFile::open(path)->names(), std::vector<std::string>{"a"});
  EXPECT_FALSE(fs::exists(path + ".tmp"));
  fs::remove_all(dir);
}

// Seeded random damage to a small valid file: every outcome is a parsed file
// whose tensors lie inside the bytes, or an InputError; never anything else.
TEST(Safetensors, FuzzTruncationsAndByteFlips) {
  SafetensorsWriter w;
  w.add("w1", ramp_f32({3, 4}, 0.5f));
  w.add("w2", bits16(DType::BF16, {5}, 3));
  w.add("w3", bits16(DType::F16, {2, 2}, 9));
  w.add("b", Tensor::zeros(DType::I32, {3}));
  w.set_metadata("format", "pt");
  std::string dir = temp_dir("st-fuzz");
  w.write(dir + "/f.safetensors");
  const std::string good = read_file(dir + "/f.safetensors");
  fs::remove_all(dir);
  uint64_t header_len = 0;
  std::memcpy(&header_len, good.data(), 8);

  std::mt19937_64 rng(20261128);
  int accepted = 0, rejected = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    std::string b = good;
    switch (iter % 4) {
      case 0:  // truncate anywhere
        b.resize(rng() % good.size());
        break;
      case 1:  // flip 1..4 random bytes anywhere
        for (int k = 0, n = 1 + rng() % 4; k < n; ++k) b[rng() % b.size()] ^= static_cast<char>(1 + rng() % 255);
        break;
      case 2:  // replace a header byte with a JSON-significant one
      {
        const char kChars[] = "{}[],:\"0123456789-. e";
        b[8 + rng() % header_len] = kChars[rng() % (sizeof(kChars) - 1)];
        break;
      }
      default:  // damage the length field
        b[rng() % 8] = static_cast<char>(rng());
        break;
    }
    try {
      auto f = parse(b);
      ++accepted;
      uint64_t n = 0;
      std::memcpy(&n, b.data(), 8);
      for (const auto& name : f->names()) {
        const SafetensorsEntry& e = f->entry(name);
        ASSERT_LE(e.begin, e.end);
        ASSERT_LE(8 + n + e.end, b.size());
        DType dt;
        if (!safetensors_dtype_to_dtype(e.dtype, &dt)) continue;
        Tensor t = f->tensor(name);
        // Touch every byte (a sanitizer build catches reads out of bounds).
        const auto* p = static_cast<const uint8_t*>(t.data());
        unsigned sum = 0;
        for (int64_t i = 0; i < t.nbytes(); ++i) sum += p[i];
        (void)sum;
      }
    } catch (const InputError& e) {
      ++rejected;
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
    }
  }
  // Data-area flips keep the file valid; header damage mostly does not.
  EXPECT_GT(accepted, 0);
  EXPECT_GT(rejected, 0);
}

// ---- sharded models ----

namespace {

void write_index(const std::string& path, const std::map<std::string, std::string>& wm) {
  nlohmann::json j;
  j["metadata"] = {{"total_size", 1234}};
  j["weight_map"] = wm;
  write_file(path, j.dump(2));
}

struct ShardedFixture {
  std::string dir;
  std::map<std::string, Tensor> tensors;
  std::map<std::string, std::string> weight_map;
};

ShardedFixture make_sharded(const std::string& tag) {
  ShardedFixture s;
  s.dir = temp_dir(tag);
  const char* shard_names[3] = {"model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors",
                                "model-00003-of-00003.safetensors"};
  SafetensorsWriter w[3];
  for (int layer = 0; layer < 3; ++layer) {
    std::string p = "model.layers." + std::to_string(layer) + ".";
    s.tensors[p + "self_attn.q_proj.weight"] = bits16(DType::BF16, {4, 4}, static_cast<uint16_t>(layer));
    s.tensors[p + "input_layernorm.weight"] = ramp_f32({4}, static_cast<float>(layer));
    for (auto name : {p + "self_attn.q_proj.weight", p + "input_layernorm.weight"}) {
      w[layer].add(name, s.tensors[name]);
      s.weight_map[name] = shard_names[layer];
    }
  }
  s.tensors["model.embed_tokens.weight"] = ramp_f32({6, 4}, -3.0f);
  w[0].add("model.embed_tokens.weight", s.tensors["model.embed_tokens.weight"]);
  s.weight_map["model.embed_tokens.weight"] = shard_names[0];
  s.tensors["lm_head.weight"] = bits16(DType::F16, {6, 4}, 77);
  w[2].add("lm_head.weight", s.tensors["lm_head.weight"]);
  s.weight_map["lm_head.weight"] = shard_names[2];
  for (int i = 0; i < 3; ++i) {
    w[i].set_metadata("format", "pt");
    w[i].write(s.dir + "/" + shard_names[i]);
  }
  write_index(s.dir + "/model.safetensors.index.json", s.weight_map);
  return s;
}

void expect_model_error(const std::string& path, const std::string& needle) {
  try {
    SafetensorsModel::open(path);
    ADD_FAILURE() << "opened " << path << "; expected an error mentioning " << needle;
  } catch (const InputError& e) {
    std::string msg = e.what();
    EXPECT_EQ(msg.rfind("[safetensors] ", 0), 0u) << msg;
    EXPECT_NE(msg.find(needle), std::string::npos) << "message: " << msg << "\nexpected: " << needle;
  }
}

}  // namespace

TEST(SafetensorsModel, ThreeShardsReadBack) {
  ShardedFixture s = make_sharded("st-shards");
  for (const std::string& path : {s.dir, s.dir + "/model.safetensors.index.json"}) {
    auto m = SafetensorsModel::open(path);
    EXPECT_EQ(m->files().size(), 3u);
    EXPECT_EQ(m->size(), s.tensors.size());
    std::vector<std::string> want;
    for (auto& [n, t] : s.tensors) want.push_back(n);
    EXPECT_EQ(m->names(), want);
    for (auto& [n, t] : s.tensors) {
      SCOPED_TRACE(n);
      EXPECT_EQ(m->dtype(n), t.dtype());
      EXPECT_EQ(m->shape(n), t.shape());
      EXPECT_TRUE(same_bytes(m->tensor(n), t));
      EXPECT_EQ(fs::path(m->file_of(n).path()).filename().string(), s.weight_map[n]);
    }
    EXPECT_EQ(m->metadata().at("format"), "pt");
    EXPECT_THROW(m->tensor("model.layers.9.mlp.up_proj.weight"), InputError);
  }
  fs::remove_all(s.dir);
}

TEST(SafetensorsModel, SingleFileDirectoryAndFile) {
  std::string dir = temp_dir("st-single");
  SafetensorsWriter w;
  w.add("model.norm.weight", ramp_f32({8}, 1));
  w.write(dir + "/model.safetensors");
  for (const std::string& path : {dir, dir + "/model.safetensors"}) {
    auto m = SafetensorsModel::open(path);
    EXPECT_EQ(m->names(), std::vector<std::string>{"model.norm.weight"});
    EXPECT_EQ(m->tensor("model.norm.weight").ptr<float>()[4], 2.0f);
  }
  fs::remove_all(dir);
}

TEST(SafetensorsModel, BadIndexesAndDirectories) {
  ShardedFixture s = make_sharded("st-badidx");
  const std::string idx = s.dir + "/model.safetensors.index.json";

  auto wm = s.weight_map;
  wm["model.layers.1.mlp.up_proj.weight"] = "model-00004-of-00003.safetensors";
  write_index(idx, wm);
  expect_model_error(s.dir, "shard 'model-00004-of-00003.safetensors' named by weight_map is missing");

  wm = s.weight_map;
  wm["model.layers.1.mlp.up_proj.weight"] = "model-00002-of-00003.safetensors";
  write_index(idx, wm);
  expect_model_error(s.dir, "tensor 'model.layers.1.mlp.up_proj.weight' in 'model-00002-of-00003.safetensors'");

  wm = s.weight_map;
  wm["x"] = "../elsewhere.safetensors";
  write_index(idx, wm);
  expect_model_error(s.dir, "not a file inside the model directory");
  wm["x"] = "/etc/passwd";
  write_index(idx, wm);
  expect_model_error(s.dir, "not a file inside the model directory");

  write_file(idx, "{\"weight_map\": {\"a\": 3}}");
  expect_model_error(s.dir, "weight_map entry 'a' is not a file name string");
  write_file(idx, "{\"metadata\": {}}");
  expect_model_error(s.dir, "no 'weight_map'");
  write_file(idx, "{\"weight_map\": {}}");
  expect_model_error(s.dir, "'weight_map' is empty");
  write_file(idx, "{\"weight_map\": ");
  expect_model_error(s.dir, idx + ": index is not valid JSON");
  write_file(idx, "[]");
  expect_model_error(s.dir, "index is not a JSON object");

  // A damaged shard is reported with its own path.
  write_index(idx, s.weight_map);
  std::string shard2 = s.dir + "/model-00002-of-00003.safetensors";
  std::string bytes = read_file(shard2);
  write_file(shard2, bytes.substr(0, bytes.size() - 3));
  expect_model_error(s.dir, shard2 + ": ");

  std::string empty = temp_dir("st-empty");
  expect_model_error(empty, "neither model.safetensors nor model.safetensors.index.json");
  expect_model_error(empty + "/nothing-here", "no such file or directory");
  fs::remove_all(empty);
  fs::remove_all(s.dir);
}

TEST(SafetensorsModel, DevstralIndexParses) {
  // The real index of a 10-shard model (the shards themselves are not here).
  std::string path = peft::test::shared_path("hf/devstral-small-sharded/model.safetensors.index.json");
  SafetensorsIndex idx = parse_safetensors_index(path);
  ASSERT_EQ(idx.shards.size(), 10u);
  for (int i = 0; i < 10; ++i) {
    char want[64];
    std::snprintf(want, sizeof want, "model-%05d-of-00010.safetensors", i + 1);
    EXPECT_EQ(idx.shards[i], want);
  }
  // 40 layers × 9 tensors + embed_tokens + norm + lm_head.
  EXPECT_EQ(idx.weight_map.size(), 363u);
  EXPECT_EQ(idx.weight_map.at("lm_head.weight"), "model-00010-of-00010.safetensors");
  EXPECT_EQ(idx.weight_map.at("model.embed_tokens.weight"), "model-00001-of-00010.safetensors");
  EXPECT_EQ(idx.weight_map.count("model.layers.39.mlp.down_proj.weight"), 1u);
  // Opening the directory must notice the shards are absent.
  expect_model_error(fs::path(path).parent_path().string(), "named by weight_map is missing");
}
