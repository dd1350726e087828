// A second reference for the encoder: llama.cpp's llama-embedding
// (../shared/bin/llama.cpp) on the all-MiniLM-L6-v2-shaped golden model,
// written as a bert GGUF with a WordPiece vocabulary in which token id i is
// the word "t<i>", so that a text of such words tokenizes to known ids.
// ggml computes GELU with the tanh approximation (a lookup table), not erf,
// so llama.cpp agrees with the exact model to about 6.5e-5 here rather than
// the 1e-7 between us and PyTorch; the bound is the 1e-4.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "embed/encoder_embedder.h"
#include "io/gguf.h"
#include "io/npy.h"
#include "io/safetensors.h"
#include "test_util.h"

using namespace peft;
using namespace peft::test;
namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {

float draw(uint64_t seed, uint64_t i, double offset, double scale) {
  uint64_t z = (seed << 32) + i + 1;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  const double u = static_cast<double>(z >> 11) * (1.0 / 9007199254740992.0);
  return static_cast<float>(offset + scale * (2.0 * u - 1.0));
}

std::string run(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  std::array<char, 65536> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  pclose(p);
  return out;
}

}  // namespace

TEST(BertLlamaCpp, LlamaEmbeddingAgreesWithUsAndWithTorch) {
  const std::string bin = shared_path("bin/llama.cpp/llama-embedding");
  const std::string src = std::string(PEFT_SOURCE_DIR) + "/tests/data/bert/minilm-l6";
  const std::string dir = temp_dir("bert_llamacpp");
  fs::copy(src, dir, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  // Weights from the shared generator (as in test_bert_golden), straight to GGUF names via the HF loader.
  {
    const Json w = Json::parse(read_file(src + "/weights.json"));
    SafetensorsWriter writer;
    std::vector<Tensor> keep;
    for (const Json& t : w["tensors"]) {
      Shape shape = t["shape"].get<Shape>();
      Tensor x = Tensor::zeros(DType::F32, shape);
      float* p = x.mutable_ptr<float>();
      for (int64_t i = 0; i < shape_numel(shape); ++i)
        p[i] = draw(t["seed"].get<uint64_t>(), static_cast<uint64_t>(i), t["offset"].get<double>(),
                    t["scale"].get<double>());
      keep.push_back(x);
      writer.add(t["name"].get<std::string>(), keep.back());
    }
    writer.write(dir + "/model.safetensors");
  }
  auto e = EncoderEmbedder<float>::load(dir);
  BertModel<float>& m = *e->model;
  const BertConfig& c = m.cfg;

  GgufWriter w;
  w.set("general.architecture", GgufValue::string("bert"));
  w.set("general.name", GgufValue::string("minilm-shaped golden"));
  w.set("bert.context_length", GgufValue::u32(static_cast<uint32_t>(c.max_positions)));
  w.set("bert.embedding_length", GgufValue::u32(static_cast<uint32_t>(c.dim)));
  w.set("bert.feed_forward_length", GgufValue::u32(static_cast<uint32_t>(c.hidden_dim)));
  w.set("bert.block_count", GgufValue::u32(static_cast<uint32_t>(c.n_layers)));
  w.set("bert.attention.head_count", GgufValue::u32(static_cast<uint32_t>(c.n_heads)));
  w.set("bert.attention.layer_norm_epsilon", GgufValue::f32(static_cast<float>(c.norm_eps)));
  w.set("bert.attention.causal", GgufValue::boolean(false));
  w.set("bert.pooling_type", GgufValue::u32(1));
  std::vector<std::string> tokens(c.vocab_size);
  std::vector<int32_t> types(c.vocab_size, 1);
  for (int64_t i = 0; i < c.vocab_size; ++i) tokens[i] = "\u2581t" + std::to_string(i);  // phantom-space words
  const std::pair<int, const char*> specials[] = {{0, "[PAD]"}, {100, "[UNK]"}, {101, "[CLS]"}, {102, "[SEP]"},
                                                  {103, "[MASK]"}};
  for (const auto& [id, text] : specials) {
    tokens[id] = text;
    types[id] = id == 100 ? 2 : 3;  // unknown, control
  }
  w.set("tokenizer.ggml.model", GgufValue::string("bert"));
  w.set("tokenizer.ggml.tokens", GgufValue::string_array(tokens));
  w.set("tokenizer.ggml.token_type", GgufValue::i32_array(types));
  w.set("tokenizer.ggml.token_type_count", GgufValue::u32(static_cast<uint32_t>(c.type_vocab_size)));
  w.set("tokenizer.ggml.bos_token_id", GgufValue::u32(101));
  w.set("tokenizer.ggml.cls_token_id", GgufValue::u32(101));
  w.set("tokenizer.ggml.seperator_token_id", GgufValue::u32(102));
  w.set("tokenizer.ggml.unknown_token_id", GgufValue::u32(100));
  w.set("tokenizer.ggml.padding_token_id", GgufValue::u32(0));
  w.set("tokenizer.ggml.mask_token_id", GgufValue::u32(103));
  std::vector<Tensor> keep;
  for (Param<float>* p : m.base_params()) {
    keep.push_back(Tensor::view(DType::F32, p->shape, p->data.get(), nullptr));
    w.add_tensor(p->name, keep.back());
  }
  const std::string gguf = dir + "/model.gguf";
  w.write(gguf);

  const Json golden = Json::parse(read_file(src + "/expected.json"));
  const auto seqs = golden["sequences"].get<std::vector<std::vector<int32_t>>>();
  const auto want = golden["embeddings"].get<std::vector<std::vector<double>>>();
  std::string prompt;
  for (size_t i = 0; i < seqs.size(); ++i) {
    if (i) prompt += "\n";
    for (size_t t = 1; t + 1 < seqs[i].size(); ++t) prompt += (t > 1 ? " t" : "t") + std::to_string(seqs[i][t]);
  }
  write_file(dir + "/prompt.txt", prompt);
  const std::string out = run("'" + bin + "' -m '" + gguf + "' -f '" + dir +
                              "/prompt.txt' --pooling mean --embd-normalize 2 --embd-output-format json -t 2 " +
                              "-c 512 -b 512 -ub 512 2>'" + dir + "/stderr.txt'");
  const size_t start = out.find('{');
  ASSERT_NE(start, std::string::npos) << "no JSON from llama-embedding; stderr:\n" << read_file(dir + "/stderr.txt");
  const Json j = Json::parse(out.substr(start));
  ASSERT_EQ(j["data"].size(), seqs.size());

  // Our embeddings of the same ids, one padded batch.
  EncoderBatch b;
  b.B = static_cast<int64_t>(seqs.size());
  for (const auto& s : seqs) b.T = std::max<int64_t>(b.T, static_cast<int64_t>(s.size()));
  for (const auto& s : seqs)
    for (int64_t t = 0; t < b.T; ++t) {
      b.tokens.push_back(t < static_cast<int64_t>(s.size()) ? s[t] : 0);
      b.mask.push_back(t < static_cast<int64_t>(s.size()) ? 1 : 0);
    }
  const float* ours = e->forward(b, 0, false);
  double worst_torch = 0, worst_ours = 0;
  for (size_t i = 0; i < seqs.size(); ++i) {
    const auto v = j["data"][i]["embedding"].get<std::vector<double>>();
    ASSERT_EQ(static_cast<int64_t>(v.size()), e->dim());
    for (int64_t k = 0; k < e->dim(); ++k) {
      worst_torch = std::max(worst_torch, std::fabs(v[k] - want[i][k]));
      worst_ours = std::max(worst_ours, std::fabs(v[k] - ours[i * e->dim() + k]));
    }
  }
  std::printf("[llama.cpp] max |llama-embedding - torch| %.3g, max |llama-embedding - ours| %.3g\n", worst_torch,
              worst_ours);
  EXPECT_LT(worst_torch, 1e-4);
  EXPECT_LT(worst_ours, 1e-4);

  // `peft embed` on the same GGUF and the same text file: our GGUF WordPiece
  // tokenizer, batching and .npy writer end to end against llama-embedding.
  const CliResult r = run_cli({"embed", "--model", gguf, "--input", dir + "/prompt.txt", "--pooling", "mean", "--out",
                               dir + "/ours.npy", "--batch-size", "2"});
  ASSERT_EQ(r.rc, 0) << r.err;
  const NpyMatrix cli = read_npy_f32(dir + "/ours.npy");
  ASSERT_EQ(cli.rows, static_cast<int64_t>(seqs.size()));
  ASSERT_EQ(cli.cols, e->dim());
  double worst_cli = 0;
  for (size_t i = 0; i < seqs.size(); ++i) {
    const auto v = j["data"][i]["embedding"].get<std::vector<double>>();
    for (int64_t k = 0; k < e->dim(); ++k) worst_cli = std::max(worst_cli, std::fabs(v[k] - cli.data[i * e->dim() + k]));
  }
  std::printf("[llama.cpp] max |llama-embedding - peft embed| %.3g\n", worst_cli);
  EXPECT_LT(worst_cli, 1e-4);
  fs::remove_all(dir);
}
