#include "train/convert.h"

#include <filesystem>
#include <memory>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/gguf.h"
#include "model/hf_load.h"
#include "model/llama.h"
#include "tokenizer/vocab_convert.h"

namespace peft {

namespace {

namespace fs = std::filesystem;

bool ends_with(const std::string& s, const std::string& p) {
  return s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
}

// The tokenizer-side files of an HF directory, copied byte for byte between
// two directories.
const char* const kTokenizerFiles[] = {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                                       "chat_template.jinja", "generation_config.json", "tokenizer.model"};

// Writes the model as GGUF (F32) in llama.cpp's q/k row order, with the
// hyperparameters llama.cpp and config_from_gguf read, and `tokenizer_keys`.
// Qwen2 (q/k/v biases) and Qwen3 (q/k norms) use llama.cpp's tensor names
// for those (blk.N.attn_q.bias, blk.N.attn_q_norm.weight), which are ours.
void write_gguf(LlamaModel<float>& m, const std::string& name,
                const std::vector<std::pair<std::string, GgufValue>>& tokenizer_keys, const std::string& path) {
  const LlamaConfig& c = m.cfg;
  const bool qwen = c.arch == "qwen2" || c.arch == "qwen3";
  if (c.arch != "llama" && c.arch != "mistral" && !qwen)
    fail("convert", "a " + c.arch + " model cannot be written as GGUF yet (supported: llama, mistral, qwen2, qwen3)");
  if (c.qkv_bias != (c.arch == "qwen2") || c.qk_norm != (c.arch == "qwen3"))
    fail("convert", "q/k/v biases or q/k norms do not match what llama.cpp's " + c.arch + " has");
  // llama3 scaling is stored as llama.cpp's converter stores it, as the
  // rope_freqs.weight tensor, which llama.cpp reads for its llama graph.
  const std::vector<float> freq_factors = rope_freq_factors(c);
  if (!c.rope_scaling.type.empty() && c.rope_scaling.type != "linear" && (freq_factors.empty() || c.arch != "llama"))
    fail("convert", "rope scaling '" + c.rope_scaling.type + "' cannot be written as GGUF " + c.arch +
                        " (linear, and llama3 for llama)");
  // Written in llama.cpp's row order (pairs for Llama and Mistral, halves as
  // in HF for Qwen); the model gets its own back afterwards.
  const ops::RopeStyle original = m.cfg.rope_style;
  set_rope_layout(m, qwen ? ops::RopeStyle::Half : ops::RopeStyle::Interleaved);

  auto u32 = [](int64_t v) { return GgufValue::u32(static_cast<uint32_t>(v)); };
  const std::string a = c.arch;
  GgufWriter w;
  w.set("general.architecture", GgufValue::string(a));
  w.set("general.name", GgufValue::string(name));
  w.set(a + ".vocab_size", u32(c.vocab_size));
  w.set(a + ".context_length", u32(c.context_length));
  w.set(a + ".embedding_length", u32(c.dim));
  w.set(a + ".feed_forward_length", u32(c.hidden_dim));
  w.set(a + ".block_count", u32(c.n_layers));
  w.set(a + ".attention.head_count", u32(c.n_heads));
  w.set(a + ".attention.head_count_kv", u32(c.n_kv_heads));
  // llama.cpp derives these from dim / heads unless stated.
  if (c.head_dim != c.dim / c.n_heads) {
    w.set(a + ".attention.key_length", u32(c.head_dim));
    w.set(a + ".attention.value_length", u32(c.head_dim));
  }
  w.set(a + ".rope.dimension_count", u32(c.head_dim));
  w.set(a + ".attention.layer_norm_rms_epsilon", GgufValue::f32(static_cast<float>(c.norm_eps)));
  w.set(a + ".rope.freq_base", GgufValue::f32(static_cast<float>(c.rope_theta)));
  if (c.rope_scaling.type == "linear") {
    w.set(a + ".rope.scaling.type", GgufValue::string("linear"));
    w.set(a + ".rope.scaling.factor", GgufValue::f32(static_cast<float>(c.rope_scaling.factor)));
  }
  for (const auto& [k, v] : tokenizer_keys) w.set(k, v);
  // Stored (bf16/quantized) matrices are written in their type, byte for byte.
  int64_t stored = 0, dense = 0;
  DType stored_type = DType::F32;
  for (Param<float>* p : m.base_params()) {
    Tensor t = p->is_stored() ? Tensor::view(p->stored.dtype(), p->shape, p->stored.row(0), nullptr)
                              : Tensor::view(DType::F32, p->shape, p->data.get(), nullptr);
    (p->is_stored() ? stored : dense) += p->numel();
    if (p->is_stored()) stored_type = p->stored.dtype();
    w.add_tensor(p->name, t);
  }
  w.set("general.file_type", GgufValue::u32(stored > dense ? gguf_file_type_of(stored_type) : 0));
  std::vector<float> factors = freq_factors;  // the writer holds a view until write()
  if (!factors.empty())
    w.add_tensor("rope_freqs.weight",
                 Tensor::view(DType::F32, Shape{static_cast<int64_t>(factors.size())}, factors.data(), nullptr));
  try {
    w.write(path);
  } catch (...) {
    set_rope_layout(m, original);
    throw;
  }
  set_rope_layout(m, original);
}

// llama.cpp wants one token per embedding row. HF configs often have more
// rows than the tokenizer has tokens (Qwen: 151936 rows, 151669 tokens);
// like llama.cpp's converter, fill the gap with unused "[PAD<id>]" tokens.
void pad_vocab(std::vector<std::pair<std::string, GgufValue>>& keys, int64_t rows) {
  std::vector<GgufValue>* tokens = nullptr;
  std::vector<GgufValue>* types = nullptr;
  for (auto& [k, v] : keys) {
    if (k == "tokenizer.ggml.tokens" && v.is_array()) tokens = &std::get<std::vector<GgufValue>>(v.v);
    if (k == "tokenizer.ggml.token_type" && v.is_array()) types = &std::get<std::vector<GgufValue>>(v.v);
  }
  if (!tokens || static_cast<int64_t>(tokens->size()) >= rows) return;
  for (int64_t i = static_cast<int64_t>(tokens->size()); i < rows; ++i) {
    tokens->push_back(GgufValue::string("[PAD" + std::to_string(i) + "]"));
    if (types) types->push_back(GgufValue::i32(5));  // unused
  }
}

}  // namespace

ConvertReport convert_model(const std::string& in, const std::string& out) {
  std::error_code ec;
  if (!fs::exists(in, ec)) fail("convert", "'" + in + "' does not exist");
  if (fs::equivalent(in, out, ec)) fail("convert", "the output '" + out + "' is the input");
  ConvertReport r;
  r.from = fs::is_directory(in, ec) ? "hf" : "gguf";
  r.to = ends_with(out, ".gguf") ? "gguf" : "hf";
  if (r.to == "hf" && fs::exists(out, ec) && !fs::is_directory(out, ec))
    fail("convert", "'" + out + "' exists and is not a directory");
  if (r.to == "gguf" && fs::is_directory(out, ec)) fail("convert", "'" + out + "' is a directory");

  std::shared_ptr<GgufFile> gguf;
  std::unique_ptr<LlamaModel<float>> m;
  if (r.from == "gguf") {
    gguf = GgufFile::open(in);
    for (const GgufTensorInfo& t : gguf->tensors())
      if (dtype_is_quantized(t.dtype) || t.dtype == DType::F16 || t.dtype == DType::BF16) {
        r.notes.push_back(std::string("tensors stored as ") + dtype_name(t.dtype) + " (and others) are written as F32");
        break;
      }
    m = load_llama_gguf<float>(*gguf);
  } else {
    m = load_llama_hf<float>(in);
  }
  r.description = m->cfg.describe();

  save_model_as(*m, gguf.get(), r.from == "hf" ? in : "", out, &r);
  return r;
}

void save_model_as(LlamaModel<float>& m, const GgufFile* gguf, const std::string& source_dir, const std::string& out,
                   ConvertReport* report) {
  std::error_code ec;
  ConvertReport& r = *report;
  const std::string in = gguf ? gguf->path() : source_dir;
  r.to = ends_with(out, ".gguf") ? "gguf" : "hf";
  if (r.description.empty()) r.description = m.cfg.describe();
  if (r.to == "hf") {
    HfSaveOptions opt;
    if (gguf && gguf->has("tokenizer.ggml.tokens")) {
      opt.bos_token_id = static_cast<int32_t>(gguf->get_int("tokenizer.ggml.bos_token_id", -1));
      opt.eos_token_id = static_cast<int32_t>(gguf->get_int("tokenizer.ggml.eos_token_id", -1));
    }
    // Tokenizer files first, config.json (written last by save_llama_hf)
    // marks the directory complete.
    if (fs::exists(out, ec) && !fs::is_directory(out, ec)) fail("convert", "'" + out + "' exists and is not a directory");
    fs::create_directories(out, ec);
    if (!fs::is_directory(out, ec)) fail("convert", "cannot create directory '" + out + "'");
    if (gguf) {
      HfTokenizerFiles files;
      std::string why;
      if (gguf_vocab_to_tokenizer_json(*gguf, &files, &why)) {
        write_file_atomic((fs::path(out) / "tokenizer.json").string(), files.tokenizer_json);
        write_file_atomic((fs::path(out) / "tokenizer_config.json").string(), files.tokenizer_config_json);
        r.tokenizer_written = true;
      } else {
        r.notes.push_back("no tokenizer written: " + why);
      }
    } else if (!source_dir.empty()) {
      for (const char* name : kTokenizerFiles) {
        const fs::path src = fs::path(source_dir) / name;
        if (!fs::exists(src, ec)) continue;
        write_file_atomic((fs::path(out) / name).string(), read_file_bytes(src.string()));
        if (std::string(name) == "tokenizer.json") r.tokenizer_written = true;
      }
      if (!r.tokenizer_written) r.notes.push_back("no tokenizer written: " + source_dir + " has no tokenizer.json");
    } else {
      r.notes.push_back("no tokenizer written: no source to take it from");
    }
    save_llama_hf(m, out, opt);
    return;
  }

  if (fs::is_directory(out, ec)) fail("convert", "'" + out + "' is a directory");
  std::vector<std::pair<std::string, GgufValue>> tok_keys;
  if (gguf) {
    for (const std::string& k : gguf->keys())
      if (k.rfind("tokenizer.", 0) == 0) tok_keys.emplace_back(k, gguf->get(k));
    r.tokenizer_written = !tok_keys.empty();
    if (tok_keys.empty()) r.notes.push_back("no tokenizer written: " + in + " has no vocabulary");
  } else if (!source_dir.empty()) {
    std::string why;
    r.tokenizer_written = tokenizer_json_to_gguf_vocab(source_dir, &tok_keys, &why);
    if (!r.tokenizer_written) r.notes.push_back("no tokenizer written: " + why);
    if (r.tokenizer_written) pad_vocab(tok_keys, m.cfg.vocab_size);
  } else {
    r.notes.push_back("no tokenizer written: no source to take it from");
  }
  std::string name = gguf ? gguf->get_string("general.name", "") : "";
  if (name.empty() && !in.empty()) {
    fs::path p = fs::path(in).lexically_normal();
    name = (p.has_filename() ? p : p.parent_path()).filename().string();
  }
  if (name.empty()) name = "peft.cpp model";
  write_gguf(m, name, tok_keys, out);
}

}  // namespace peft
