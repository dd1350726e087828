// make_model: writes a randomly initialised Llama model of a chosen shape as
// a GGUF file, for the speed benchmarks (bench/run.sh, bench/frozen_base.sh).
// Only speed and memory are measured on these models, so random weights serve
// as well as trained ones.
//
// The file is streamed: each tensor is generated, converted to its type and
// written when the writer reaches it (GgufWriter's fill functions), so memory
// peaks at about one tensor, whatever the model's size (a 7B model is 27 GB
// in f32). Values: N(0, 0.02²) (residual outputs scaled by 1/sqrt(2·layers)),
// norms 1, biases 0, as init_llama_random; drawn per block of rows from a
// generator seeded by (seed, tensor, block), so blocks are made in parallel
// and the file is the same for any thread count.
//
// The tokenizer comes from another GGUF file (stories260K's 512-token
// SentencePiece vocabulary): only its `tokenizer.*` keys are copied, and the
// llama.* hyperparameters are written from the requested shape. The model's
// vocabulary may be larger than the tokenizer's: the vocabulary is then padded
// with unused tokens (see pad_vocabulary), text still tokenizes to ids below
// the tokenizer's size, which changes nothing about the cost of a step.
//
//   make_model --tokenizer-from stories260K.gguf --out m.gguf
//              --dim 288 --layers 6 --heads 6 --kv-heads 6 --hidden 768 --vocab 32000 --context 512
//              [--type f32|bf16|q8_0|q4_k|q6_k] [--seed N]   (storage of the weight matrices)
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <exception>
#include <string>
#include <memory>
#include <vector>

#include "core/dtype.h"
#include "core/error.h"
#include "core/rng.h"
#include "io/gguf.h"
#include "model/llama.h"

namespace {

struct Args {
  std::string tokenizer_from, out;
  int64_t dim = 0, layers = 0, heads = 0, kv_heads = 0, hidden = 0, vocab = 0, context = 512;
  uint64_t seed = 1;
  std::string type = "f32";  // storage of the 2-D weights: f32, bf16, q8_0, q4_k or q6_k
};

int64_t parse_int(const std::string& flag, const char* text) {
  char* end = nullptr;
  long long v = std::strtoll(text, &end, 10);
  if (end == text || *end != '\0' || v <= 0) peft::fail("make_model", flag + " needs a positive integer, got '" + text + "'");
  return v;
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string f = argv[i];
    if (i + 1 >= argc) peft::fail("make_model", "flag " + f + " needs a value");
    const char* v = argv[++i];
    if (f == "--tokenizer-from") a.tokenizer_from = v;
    else if (f == "--out") a.out = v;
    else if (f == "--dim") a.dim = parse_int(f, v);
    else if (f == "--layers") a.layers = parse_int(f, v);
    else if (f == "--heads") a.heads = parse_int(f, v);
    else if (f == "--kv-heads") a.kv_heads = parse_int(f, v);
    else if (f == "--hidden") a.hidden = parse_int(f, v);
    else if (f == "--vocab") a.vocab = parse_int(f, v);
    else if (f == "--context") a.context = parse_int(f, v);
    else if (f == "--seed") a.seed = static_cast<uint64_t>(parse_int(f, v));
    else if (f == "--type") a.type = v;
    else peft::fail("make_model", "unknown flag " + f);
  }
  if (a.type != "f32" && a.type != "bf16" && a.type != "q8_0" && a.type != "q4_k" && a.type != "q6_k")
    peft::fail("make_model", "--type must be f32, bf16, q8_0, q4_k or q6_k, got '" + a.type + "'");
  if (a.tokenizer_from.empty() || a.out.empty()) peft::fail("make_model", "--tokenizer-from and --out are required");
  if (a.kv_heads == 0) a.kv_heads = a.heads;
  if (a.heads == 0 || a.dim % a.heads != 0) peft::fail("make_model", "--heads must divide --dim");
  return a;
}

// llama.cpp refuses a model whose token_embd has more rows than the
// vocabulary has tokens, and a random model samples ids up to vocab - 1: the
// copied vocabulary is padded to the model's size with normal tokens
// "<unusedN>" (score 0) that no text ever produces.
void pad_vocabulary(peft::GgufWriter& w, const peft::GgufFile& tok, int64_t vocab) {
  const auto& tokens = tok.get("tokenizer.ggml.tokens").as_array();
  const int64_t have = static_cast<int64_t>(tokens.size());
  if (have >= vocab) return;
  std::vector<std::string> names;
  for (const auto& t : tokens) names.push_back(t.as_string());
  std::vector<float> scores;
  std::vector<int32_t> types;
  for (int64_t i = 0; i < have; ++i) {
    scores.push_back(tok.has("tokenizer.ggml.scores") ? static_cast<float>(tok.get("tokenizer.ggml.scores").as_array()[i].as_double()) : 0.0f);
    types.push_back(tok.has("tokenizer.ggml.token_type") ? static_cast<int32_t>(tok.get("tokenizer.ggml.token_type").as_array()[i].as_int()) : 1);
  }
  for (int64_t i = have; i < vocab; ++i) {
    names.push_back("<unused" + std::to_string(i - have) + ">");
    scores.push_back(0.0f);
    types.push_back(1);
  }
  w.set("tokenizer.ggml.tokens", peft::GgufValue::string_array(names));
  w.set("tokenizer.ggml.scores", peft::GgufValue::f32_array(scores));
  w.set("tokenizer.ggml.token_type", peft::GgufValue::i32_array(types));
}

// One base tensor as the model declares it.
struct TensorSpec {
  std::string name, group;
  peft::Shape shape;
};

// Fills `out` (rows × cols values of `dt`, rows whole) with tensor `index`'s
// values: blocks of rows drawn in parallel, each block from its own
// generator, then encoded row block by row block (no f32 copy of the whole
// tensor).
void fill_tensor(const TensorSpec& t, size_t index, peft::DType dt, double sd, uint64_t seed, uint8_t* out) {
  const int64_t rows = t.shape.size() == 2 ? t.shape[0] : 1;
  const int64_t cols = t.shape.back();
  const int64_t row_bytes = peft::dtype_bytes(dt, cols);
  const int64_t block = std::max<int64_t>(1, (int64_t{1} << 18) / cols);  // ~1 MiB of f32 per block
  const int64_t nblocks = (rows + block - 1) / block;
#pragma omp parallel
  {
    std::vector<float> buf(static_cast<size_t>(block * cols));
#pragma omp for schedule(dynamic)
    for (int64_t b = 0; b < nblocks; ++b) {
      const int64_t r0 = b * block, nr = std::min(block, rows - r0), n = nr * cols;
      if (t.group == "norm") {
        std::fill(buf.begin(), buf.begin() + n, 1.0f);
      } else if (t.group == "bias") {
        std::fill(buf.begin(), buf.begin() + n, 0.0f);
      } else {
        // Box-Muller, both values of each pair.
        peft::Rng rng(seed * 0x9E3779B97F4A7C15ull + (static_cast<uint64_t>(index) << 32) + static_cast<uint64_t>(b));
        for (int64_t i = 0; i < n; i += 2) {
          double u1 = rng.uniform_double(), u2 = rng.uniform_double();
          if (u1 < 1e-300) u1 = 1e-300;
          const double r = sd * std::sqrt(-2.0 * std::log(u1)), th = 6.283185307179586 * u2;
          buf[static_cast<size_t>(i)] = static_cast<float>(r * std::cos(th));
          if (i + 1 < n) buf[static_cast<size_t>(i + 1)] = static_cast<float>(r * std::sin(th));
        }
      }
      uint8_t* dst = out + r0 * row_bytes;
      if (dt == peft::DType::F32) std::memcpy(dst, buf.data(), sizeof(float) * static_cast<size_t>(n));
      else peft::from_f32(dt, buf.data(), dst, n);
    }
  }
}

void run(const Args& a) {
  peft::LlamaConfig c;
  c.arch = "llama";
  c.vocab_size = a.vocab;
  c.dim = a.dim;
  c.hidden_dim = a.hidden;
  c.n_layers = a.layers;
  c.n_heads = a.heads;
  c.n_kv_heads = a.kv_heads;
  c.head_dim = a.dim / a.heads;
  c.context_length = a.context;
  c.validate();
  // The tensor list (names, shapes, groups) from the model itself, built
  // with uninitialised buffers (never touched, so never resident).
  std::vector<TensorSpec> specs;
  int64_t n_params = 0;
  {
    peft::LlamaModel<float> shape_only(c, /*zeroed=*/false);
    for (peft::Param<float>* p : shape_only.base_params()) specs.push_back({p->name, p->group, p->shape});
    n_params = shape_only.parameter_count();
  }

  auto tok = peft::GgufFile::open(a.tokenizer_from);
  peft::GgufWriter w;
  w.set("general.architecture", peft::GgufValue::string("llama"));
  w.set("general.name", peft::GgufValue::string("peft.cpp bench model"));
  auto u32 = [](int64_t x) { return peft::GgufValue::u32(static_cast<uint32_t>(x)); };
  w.set("llama.context_length", u32(c.context_length));
  w.set("llama.embedding_length", u32(c.dim));
  w.set("llama.feed_forward_length", u32(c.hidden_dim));
  w.set("llama.block_count", u32(c.n_layers));
  w.set("llama.attention.head_count", u32(c.n_heads));
  w.set("llama.attention.head_count_kv", u32(c.n_kv_heads));
  w.set("llama.attention.layer_norm_rms_epsilon", peft::GgufValue::f32(static_cast<float>(c.norm_eps)));
  w.set("llama.rope.freq_base", peft::GgufValue::f32(static_cast<float>(c.rope_theta)));
  w.set("llama.rope.dimension_count", u32(c.head_dim));
  int copied = 0;
  for (const std::string& k : tok->keys()) {
    if (k.rfind("tokenizer.", 0) == 0) {
      w.set(k, tok->get(k));
      ++copied;
    }
  }
  if (copied == 0) peft::fail("make_model", a.tokenizer_from + " has no tokenizer.* metadata");
  pad_vocabulary(w, *tok, c.vocab_size);
  // Matrices in the chosen type, norms F32 (as llama.cpp's quantize leaves
  // them); general.file_type is llama.cpp's LLAMA_FTYPE (0 all F32, 7
  // mostly Q8_0, 32 mostly BF16).
  const peft::DType dt = a.type == "bf16" ? peft::DType::BF16
                         : a.type == "q8_0" ? peft::DType::Q8_0
                         : a.type == "q4_k" ? peft::DType::Q4_K
                         : a.type == "q6_k" ? peft::DType::Q6_K
                                            : peft::DType::F32;
  w.set("general.file_type", u32(peft::gguf_file_type_of(dt)));
  const double out_scale = 1.0 / std::sqrt(2.0 * static_cast<double>(c.n_layers));
  for (size_t i = 0; i < specs.size(); ++i) {
    const TensorSpec& t = specs[i];
    // Rows that cannot hold whole blocks of the type stay F32.
    const bool matrix = t.shape.size() == 2 && t.shape[1] % peft::dtype_block_size(dt) == 0;
    const peft::DType tdt = matrix ? dt : peft::DType::F32;
    const bool residual_out = t.name.find("attn_output") != std::string::npos || t.name.find("ffn_down") != std::string::npos;
    const double sd = 0.02 * (residual_out ? out_scale : 1.0);
    const uint64_t seed = a.seed;
    w.add_tensor(t.name, tdt, t.shape, [t, i, tdt, sd, seed](uint8_t* dst) { fill_tensor(t, i, tdt, sd, seed, dst); });
  }
  w.write(a.out);
  std::printf("%s: %s, %lld parameters\n", a.out.c_str(), c.describe().c_str(), static_cast<long long>(n_params));
}

}  // namespace

int main(int argc, char** argv) {
  try {
    run(parse(argc, argv));
    return 0;
  } catch (const peft::InputError& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "[make_model] internal error: %s\n", e.what());
    return 1;
  }
}
