// GgufWriter's fill functions (tensors made when write() reaches them, the
// path bench/make_model streams a 7B model through): the file must be the
// one add_tensor with the same bytes in memory writes, byte for byte, and a
// fill that throws must leave no file behind.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/error.h"
#include "core/rng.h"
#include "io/atomic_file.h"
#include "io/gguf.h"
#include "test_util.h"

using namespace peft;
namespace fs = std::filesystem;

namespace {

struct Made {
  std::string name;
  DType dtype;
  Shape shape;
  std::vector<uint8_t> bytes;
};

// Random values encoded in each type (Q4_K rows of 256, so whole blocks).
std::vector<Made> make_tensors() {
  Rng rng(7);
  std::vector<Made> out;
  auto add = [&](const std::string& name, DType dt, Shape shape) {
    const int64_t n = shape_numel(shape);
    std::vector<float> f(static_cast<size_t>(n));
    for (float& v : f) v = rng.normal();
    Made m{name, dt, shape, std::vector<uint8_t>(static_cast<size_t>(dtype_bytes(dt, n)))};
    from_f32(dt, f.data(), m.bytes.data(), n);
    out.push_back(std::move(m));
  };
  add("a.weight", DType::Q4_K, {3, 512});
  add("norm.weight", DType::F32, {5});  // 20 bytes: padding follows
  add("b.weight", DType::BF16, {2, 7});
  add("c.weight", DType::Q8_0, {4, 64});
  return out;
}

}  // namespace

TEST(GgufFill, FilledTensorsWriteTheSameFileAsHeldOnes) {
  const std::string dir = test::temp_dir("gguf-fill");
  const std::vector<Made> ts = make_tensors();
  GgufWriter held, filled;
  for (GgufWriter* w : {&held, &filled}) {
    w->set("general.architecture", GgufValue::string("llama"));
    w->set("t.n", GgufValue::u32(3));
  }
  std::vector<std::string> order;
  for (const Made& m : ts) {
    held.add_tensor(m.name, Tensor::view(m.dtype, m.shape, m.bytes.data(), nullptr));
    filled.add_tensor(m.name, m.dtype, m.shape, [&m, &order](uint8_t* dst) {
      order.push_back(m.name);
      std::memcpy(dst, m.bytes.data(), m.bytes.size());
    });
  }
  held.write(dir + "/held.gguf");
  filled.write(dir + "/filled.gguf");
  EXPECT_FALSE(fs::exists(dir + "/filled.gguf.tmp"));
  // Each fill ran once, in file order, and only when written.
  EXPECT_EQ(order, (std::vector<std::string>{"a.weight", "norm.weight", "b.weight", "c.weight"}));
  const std::string a = read_file_bytes(dir + "/held.gguf"), b = read_file_bytes(dir + "/filled.gguf");
  ASSERT_EQ(a.size(), b.size());
  EXPECT_TRUE(a == b);

  // And it reads back as the bytes that were filled.
  auto f = GgufFile::open(dir + "/filled.gguf");
  for (const Made& m : ts) {
    Tensor t = f->tensor(m.name);
    EXPECT_EQ(t.dtype(), m.dtype) << m.name;
    EXPECT_EQ(t.shape(), m.shape) << m.name;
    ASSERT_EQ(static_cast<size_t>(t.nbytes()), m.bytes.size()) << m.name;
    EXPECT_EQ(std::memcmp(t.data(), m.bytes.data(), m.bytes.size()), 0) << m.name;
  }
}

TEST(GgufFill, AThrowingFillLeavesNoFile) {
  const std::string dir = test::temp_dir("gguf-fill-throw");
  const std::string path = dir + "/x.gguf";
  GgufWriter w;
  w.set("general.architecture", GgufValue::string("llama"));
  w.add_tensor("a.weight", DType::F32, {2, 2}, [](uint8_t* dst) { std::memset(dst, 0, 16); });
  w.add_tensor("b.weight", DType::F32, {2, 2}, [](uint8_t*) { throw std::runtime_error("generator failed"); });
  EXPECT_THROW(w.write(path), std::runtime_error);
  EXPECT_FALSE(fs::exists(path));
  EXPECT_FALSE(fs::exists(path + ".tmp"));
}

TEST(GgufFill, RowsThatDoNotHoldWholeBlocksAreRefusedBeforeAnyFill) {
  const std::string dir = test::temp_dir("gguf-fill-bad");
  const std::string path = dir + "/x.gguf";
  GgufWriter w;
  bool called = false;
  w.add_tensor("a.weight", DType::Q4_K, {2, 100}, [&](uint8_t*) { called = true; });
  try {
    w.write(path);
    ADD_FAILURE() << "wrote rows of 100 values as Q4_K";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("block size"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(called);
  EXPECT_FALSE(fs::exists(path));
  EXPECT_FALSE(fs::exists(path + ".tmp"));
}
