// load_gguf_tokenizer: reads tokenizer.ggml.* metadata into the vocabulary
// struct of the model it names.
#include "core/error.h"
#include "io/gguf.h"
#include "tokenizer/bpe_pre_tokenizer.h"
#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/spm_tokenizer.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/wordpiece_tokenizer.h"

namespace peft {

namespace {

// Token ids are stored as u32 (sometimes i32); "none" is written as -1 or
// 0xFFFFFFFF. Anything outside the vocabulary reads as -1.
int32_t read_id(const GgufFile& f, const std::string& key, int64_t def, size_t n_tokens) {
  int64_t v = f.get_int(key, def);
  return v >= 0 && v < static_cast<int64_t>(n_tokens) ? static_cast<int32_t>(v) : -1;
}

std::vector<int32_t> read_types(const GgufFile& f, size_t n_tokens) {
  if (!f.has("tokenizer.ggml.token_type")) return {};
  std::vector<int64_t> raw = f.get_int_array("tokenizer.ggml.token_type");
  if (raw.size() != n_tokens)
    fail("tokenizer", f.path() + ": tokenizer.ggml.token_type has " + std::to_string(raw.size()) +
                          " entries for " + std::to_string(n_tokens) + " tokens");
  std::vector<int32_t> types(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) types[i] = static_cast<int32_t>(token_type_from_int(raw[i]));
  return types;
}

std::unique_ptr<Tokenizer> load_spm(const GgufFile& f) {
  SpmVocab v;
  v.tokens = f.get_string_array("tokenizer.ggml.tokens");
  const size_t n = v.tokens.size();
  if (f.has("tokenizer.ggml.scores")) {
    v.scores = f.get_f32_array("tokenizer.ggml.scores");
    if (v.scores.size() != n)
      fail("tokenizer", f.path() + ": tokenizer.ggml.scores has " + std::to_string(v.scores.size()) +
                            " entries for " + std::to_string(n) + " tokens");
  }
  v.types = read_types(f, n);
  // llama.cpp's defaults for SentencePiece vocabularies: <unk> 0, <s> 1, </s> 2.
  v.bos = read_id(f, "tokenizer.ggml.bos_token_id", 1, n);
  v.eos = read_id(f, "tokenizer.ggml.eos_token_id", 2, n);
  v.unk = read_id(f, "tokenizer.ggml.unknown_token_id", 0, n);
  v.add_bos = f.get_bool("tokenizer.ggml.add_bos_token", true);
  v.add_eos = f.get_bool("tokenizer.ggml.add_eos_token", false);
  v.add_space_prefix = f.get_bool("tokenizer.ggml.add_space_prefix", true);
  return std::make_unique<SpmTokenizer>(std::move(v));
}

std::unique_ptr<Tokenizer> load_bpe(const GgufFile& f) {
  BpeVocab v;
  v.tokens = f.get_string_array("tokenizer.ggml.tokens");
  const size_t n = v.tokens.size();
  v.types = read_types(f, n);
  if (!f.has("tokenizer.ggml.merges")) fail("tokenizer", f.path() + ": byte-level BPE without tokenizer.ggml.merges");
  v.merges = f.get_string_array("tokenizer.ggml.merges");
  // The pre-tokenizer is named, not stored (bpe_pre_tokenizer.h). Like
  // llama.cpp, a file that names none gets llama.cpp's "default".
  std::string pre = f.get_string("tokenizer.ggml.pre", "default");
  if (pre.empty()) pre = "default";
  const BpePreTokenizer* spec = find_bpe_pre_tokenizer(pre);
  if (!spec) {
    if (is_unsupported_llama_cpp_pre(pre))
      fail("tokenizer", f.path() + ": BPE pre-tokenizer '" + pre + "' (tokenizer.ggml.pre) is not byte-level BPE and is not supported");
    fail("tokenizer", f.path() + ": unknown BPE pre-tokenizer '" + pre + "' (tokenizer.ggml.pre)");
  }
  v.split_regexes = spec->regexes;
  v.ignore_merges = spec->ignore_merges;
  v.name = spec->name;
  v.bos = read_id(f, "tokenizer.ggml.bos_token_id", -1, n);
  v.eos = read_id(f, "tokenizer.ggml.eos_token_id", -1, n);
  v.unk = read_id(f, "tokenizer.ggml.unknown_token_id", -1, n);
  v.add_bos = f.get_bool("tokenizer.ggml.add_bos_token", spec->add_bos);
  v.add_eos = f.get_bool("tokenizer.ggml.add_eos_token", false);
  return std::make_unique<BpeTokenizer>(std::move(v));
}

std::unique_ptr<Tokenizer> load_wordpiece(const GgufFile& f) {
  WordPieceVocab v;
  v.tokens = f.get_string_array("tokenizer.ggml.tokens");
  const size_t n = v.tokens.size();
  v.types = read_types(f, n);
  // GGUF BERT vocabularies come from uncased models (llama.cpp lowercases
  // unconditionally); the BERT defaults: [UNK] 100, [CLS] 101, [SEP] 102.
  v.unk = read_id(f, "tokenizer.ggml.unknown_token_id", 100, n);
  v.cls = read_id(f, "tokenizer.ggml.cls_token_id", f.get_int("tokenizer.ggml.bos_token_id", 101), n);
  v.sep = read_id(f, "tokenizer.ggml.seperator_token_id", f.get_int("tokenizer.ggml.eos_token_id", 102), n);
  v.word_prefix = "\xE2\x96\x81";  // "▁"
  v.continuation_prefix = "";
  v.add_cls = f.get_bool("tokenizer.ggml.add_bos_token", true);
  v.add_sep = f.get_bool("tokenizer.ggml.add_eos_token", true);
  return std::make_unique<WordPieceTokenizer>(std::move(v));
}

}  // namespace

std::unique_ptr<Tokenizer> load_gguf_tokenizer(const GgufFile& f) {
  if (!f.has("tokenizer.ggml.tokens")) fail("tokenizer", f.path() + ": no tokenizer.ggml.tokens in the file");
  std::string model = f.get_string("tokenizer.ggml.model", "llama");
  if (model == "llama") return load_spm(f);
  if (model == "gpt2") return load_bpe(f);
  if (model == "bert") return load_wordpiece(f);
  fail("tokenizer", f.path() + ": tokenizer.ggml.model '" + model + "' is not supported");
}

}  // namespace peft
