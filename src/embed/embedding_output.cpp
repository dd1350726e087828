#include "embed/embedding_output.h"

#include <filesystem>

#include "adapters/registry.h"
#include "core/error.h"
#include "embed/adapter_settings.h"
#include "embed/st_folder.h"
#include "io/gguf.h"
#include "model/hf_load.h"
#include "ops/pooling.h"

namespace peft {

namespace fs = std::filesystem;

void check_embedding_output(Embedder& model, const std::string& method) {
  if (!method_spec(method).trains_base) return;
  std::error_code ec;
  if (!model.is_decoder() && !fs::is_directory(model.path(), ec))
    fail("train", "full fine-tuning of an encoder loaded from GGUF cannot be saved (only sentence-transformers "
                  "folders are written); use an adapter method or the model's Hugging Face folder");
}

void save_embedding_output(Embedder& model, const MethodSetup& s, const std::string& dir,
                           const std::string& query_prompt, const std::string& doc_prompt) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) fail("train", "cannot write '" + dir + "': " + ec.message());
  if (!method_spec(s.method).trains_base) {
    model.save_adapter(dir, s);
    AdapterEmbeddingSettings a;
    a.pooling = ops::pool_mode_name(model.info().pooling);
    a.normalize = model.info().normalize;
    a.max_length = model.max_length();
    a.query_prompt = query_prompt.empty() ? "" : model.resolve_prompt(query_prompt);
    a.doc_prompt = doc_prompt.empty() ? "" : model.resolve_prompt(doc_prompt);
    write_adapter_settings(dir, a);
    return;
  }
  if (!model.is_decoder()) {
    save_sentence_transformers(model, dir);
    return;
  }
  if (!fs::is_directory(model.path(), ec)) {
    const auto source = GgufFile::open(model.path());
    save_llama_gguf<float>(*model.decoder(), source.get(), dir + "/model.gguf");
    return;
  }
  save_llama_hf<float>(*model.decoder(), dir);
  for (const char* f : {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"}) {
    const fs::path from = fs::path(model.path()) / f;
    if (fs::exists(from, ec)) fs::copy_file(from, fs::path(dir) / f, fs::copy_options::overwrite_existing, ec);
    if (ec) fail("train", "cannot copy '" + from.string() + "' to '" + dir + "': " + ec.message());
  }
}

}  // namespace peft
