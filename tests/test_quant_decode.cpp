// Greedy generation from a Q8_0 file with the int8 decode products
// (ops/gemv_q8.h): stories260K's matrices written as Q8_0 (those whose rows
// hold whole blocks of 32; the FFN's down projection, 172 columns, stays
// f32), then `peft generate --base-dtype keep` with the default int8 dot
// products, with PEFT_QUANT_DOT=f32 (the weights widened to f32), and
// llama.cpp's llama-simple (which quantizes activations to 8 bits as well)
// on the same file. The three texts are compared word for word.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/stored_matrix.h"
#include "io/gguf.h"
#include "test_util.h"

using namespace peft;
using namespace peft::test;

namespace {

// Every 2-D f32 tensor whose rows are whole Q8_0 blocks becomes Q8_0; all
// else (norms, the 172-column matrices) is copied as it is.
void write_q8_0_copy(const std::string& src, const std::string& dst) {
  auto in = GgufFile::open(src);
  GgufWriter w;
  for (const std::string& k : in->keys()) w.set(k, in->get(k));
  std::vector<StoredMatrix> keep;
  std::vector<Tensor> views;
  keep.reserve(in->tensors().size());
  for (const auto& info : in->tensors()) {
    Tensor t = in->tensor(info.name);
    if (t.dtype() == DType::F32 && t.ndim() == 2 && storable_as(DType::Q8_0, t.dim(1))) {
      keep.push_back(StoredMatrix::from_f32(DType::Q8_0, static_cast<const float*>(t.data()), t.dim(0), t.dim(1)));
      w.add_tensor(info.name, Tensor::view(DType::Q8_0, t.shape(), keep.back().row(0), nullptr));
    } else {
      w.add_tensor(info.name, t);
    }
  }
  w.write(dst);
}

std::string peft_text(const std::string& model, const std::string& prompt, int n, const char* quant_dot) {
  if (quant_dot)
    setenv("PEFT_QUANT_DOT", quant_dot, 1);
  else
    unsetenv("PEFT_QUANT_DOT");
  CliResult r = run_cli({"generate", "-m", model, "-p", prompt, "-n", std::to_string(n), "--temperature", "0",
                         "--base-dtype", "keep", "--kv-dtype", "f32", "--threads", "1", "--json", "-q"});
  unsetenv("PEFT_QUANT_DOT");
  EXPECT_EQ(r.rc, 0) << r.err;
  if (r.rc != 0) return "";
  return nlohmann::json::parse(r.out)["text"].get<std::string>();
}

}  // namespace

TEST(QuantDecode, GreedyTextFromAQ8FileMatchesTheF32ProductsAndLlamaCpp) {
  const std::string dir = temp_dir("quant-decode");
  const std::string model = dir + "/stories260K-q8_0.gguf";
  write_q8_0_copy(shared_path("models/stories260K.gguf"), model);
  {
    auto f = GgufFile::open(model);
    int q8 = 0;
    for (const auto& info : f->tensors()) q8 += f->tensor(info.name).dtype() == DType::Q8_0;
    ASSERT_GE(q8, 6) << "the attention and FFN matrices should be Q8_0";
  }
  const std::string prompt = "Once upon a time";
  const int n = 64;
  const std::string int8 = peft_text(model, prompt, n, nullptr);
  const std::string f32 = peft_text(model, prompt, n, "f32");
  ASSERT_FALSE(int8.empty());
  std::printf("int8 dot products: %s\nf32 products:      %s\n", int8.c_str(), f32.c_str());
  EXPECT_EQ(int8, f32);

  // llama-simple prints the prompt and the n new tokens on stdout.
  CliResult lr = run_program(shared_path("bin/llama.cpp/llama-simple"), {"-m", model, "-n", std::to_string(n), prompt});
  ASSERT_EQ(lr.rc, 0) << lr.err.substr(lr.err.size() > 2000 ? lr.err.size() - 2000 : 0);
  std::printf("llama-simple:      %s\n", lr.out.c_str());
  EXPECT_NE(lr.out.find(prompt + int8), std::string::npos) << "llama.cpp's greedy text on the same file differs";
  std::filesystem::remove_all(dir);
}
