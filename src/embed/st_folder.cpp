#include "embed/st_folder.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/atomic_file.h"
#include "model/bert_save.h"
#include "train/peft_dir.h"

namespace peft {

namespace fs = std::filesystem;

void merge_encoder_adapter(Embedder& e, const AdapterSpec& spec) {
  if (e.is_decoder()) fail("embed", "merge_encoder_adapter: " + e.path() + " is a decoder");
  LoadedPeft lp = load_peft_dir(spec.dir, e.peft_layers());
  for (Linear<float>* lin : e.linears()) {
    auto it = lp.adapters.find(lin->info.name);
    if (it == lp.adapters.end()) continue;
    // W[o, i] += scale · s · Σ_r B[o, r] A[r, i]
    const PlainLora<float> pl = it->second->plain_lora();
    const int64_t in = lin->in(), out = lin->out(), r = pl.rank;
    const double k = spec.scale * pl.scale;
    float* W = lin->weight.data.get();
#pragma omp parallel for schedule(static)
    for (int64_t o = 0; o < out; ++o)
      for (int64_t q = 0; q < r; ++q) {
        const double b = k * pl.B[o * r + q];
        const float* a = pl.A.data() + q * in;
        float* w = W + o * in;
        for (int64_t i = 0; i < in; ++i) w[i] += static_cast<float>(b * a[i]);
      }
  }
}

namespace {

std::string pooling_config(const EmbeddingFolder& f) {
  nlohmann::ordered_json j;
  j["word_embedding_dimension"] = f.dim;
  j["pooling_mode_cls_token"] = f.pooling == ops::PoolMode::Cls;
  j["pooling_mode_mean_tokens"] = f.pooling == ops::PoolMode::Mean;
  j["pooling_mode_max_tokens"] = false;
  j["pooling_mode_mean_sqrt_len_tokens"] = false;
  j["pooling_mode_weightedmean_tokens"] = false;
  j["pooling_mode_lasttoken"] = f.pooling == ops::PoolMode::Last;
  j["include_prompt"] = f.include_prompt;
  return j.dump(2) + "\n";
}

std::string modules_json(bool normalize) {
  nlohmann::ordered_json m = nlohmann::ordered_json::array();
  m.push_back({{"idx", 0}, {"name", "0"}, {"path", ""}, {"type", "sentence_transformers.models.Transformer"}});
  m.push_back({{"idx", 1}, {"name", "1"}, {"path", "1_Pooling"}, {"type", "sentence_transformers.models.Pooling"}});
  if (normalize)
    m.push_back(
        {{"idx", 2}, {"name", "2"}, {"path", "2_Normalize"}, {"type", "sentence_transformers.models.Normalize"}});
  return m.dump(2) + "\n";
}

std::string st_config(const EmbeddingFolder& f) {
  nlohmann::ordered_json j;
  j["prompts"] = nlohmann::ordered_json::object();
  for (const auto& [k, v] : f.prompts) j["prompts"][k] = v;
  j["default_prompt_name"] = f.default_prompt_name.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(f.default_prompt_name);
  j["similarity_fn_name"] = f.similarity.empty() ? "cosine" : f.similarity;
  return j.dump(2) + "\n";
}

}  // namespace

void save_sentence_transformers(Embedder& e, const std::string& dir) {
  if (e.is_decoder()) fail("embed", e.path() + ": only encoders are written as sentence-transformers folders");
  const EmbeddingFolder& f = e.info();
  std::error_code ec;
  if (!fs::is_directory(f.transformer_dir, ec))
    fail("embed", e.path() + ": the tokenizer files come from a Hugging Face folder; a GGUF source cannot be "
                             "written as a sentence-transformers folder");
  fs::create_directories(dir, ec);
  if (ec) fail("embed", dir + ": cannot create the folder (" + ec.message() + ")");
  if (fs::exists(fs::path(dir) / "modules.json", ec) && fs::equivalent(dir, f.root, ec))
    fail("embed", dir + ": is the source folder; write to a new one");

  // Merged weights: fold each slot's adapter in, write, fold it back out.
  BertModel<float>& m = *e.encoder();
  std::vector<Linear<float>*> merged;
  for (Linear<float>* lin : m.all_linears())
    if (lin->adapter) {
      lin->adapter->merge_into(lin->weight.data.get());
      merged.push_back(lin);
    }
  const fs::path src_config = fs::path(f.transformer_dir) / "config.json";
  try {
    save_bert_hf(m, dir, fs::exists(src_config, ec) ? read_file_bytes(src_config.string()) : "");
  } catch (...) {
    for (Linear<float>* lin : merged) lin->adapter->unmerge_from(lin->weight.data.get());
    throw;
  }
  for (Linear<float>* lin : merged) lin->adapter->unmerge_from(lin->weight.data.get());

  for (const char* name : {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt",
                           "sentencepiece.bpe.model", "added_tokens.json"}) {
    const fs::path s = fs::path(f.transformer_dir) / name;
    if (fs::exists(s, ec)) write_file_atomic((fs::path(dir) / name).string(), read_file_bytes(s.string()));
  }
  nlohmann::ordered_json sb;
  sb["max_seq_length"] = e.max_length();
  sb["do_lower_case"] = false;
  write_file_atomic((fs::path(dir) / "sentence_bert_config.json").string(), sb.dump(2) + "\n");
  write_file_atomic((fs::path(dir) / "modules.json").string(), modules_json(f.normalize));
  fs::create_directories(fs::path(dir) / "1_Pooling", ec);
  write_file_atomic((fs::path(dir) / "1_Pooling" / "config.json").string(), pooling_config(f));
  if (f.normalize) fs::create_directories(fs::path(dir) / "2_Normalize", ec);
  write_file_atomic((fs::path(dir) / "config_sentence_transformers.json").string(), st_config(f));
}

}  // namespace peft
