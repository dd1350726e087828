// peft info: what a model file holds.
#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "command.h"
#include "common.h"
#include "core/error.h"
#include "io/gguf.h"
#include "io/safetensors_model.h"
#include "model/config.h"
#include "model/hf_config.h"
#include "tokenizer/load.h"
#include "tokenizer/tokenizer.h"

namespace peft::cli {
namespace {

// The last two lines of the text output, the same for both kinds of model:
// "parameters:  N in K tensors (F32 x3, Q8_0 x4)" and "tokenizer:   ...".
void print_params_and_tokenizer(int64_t params, size_t tensors, const std::map<std::string, int64_t>& types,
                                const std::string& tok_line) {
  std::printf("parameters:  %lld in %zu tensors (", static_cast<long long>(params), tensors);
  bool first = true;
  for (auto& [t, n] : types) {
    std::printf("%s%s x%lld", first ? "" : ", ", t.c_str(), static_cast<long long>(n));
    first = false;
  }
  std::printf(")\n");
  std::printf("tokenizer:   %s\n", tok_line.c_str());
}

// A Hugging Face directory: config.json, the safetensors table, tokenizer.json.
int info_hf_dir(const std::string& dir, bool json) {
  namespace fs = std::filesystem;
  LlamaConfig c = config_from_hf_json((fs::path(dir) / "config.json").string());
  auto st = SafetensorsModel::open(dir);
  int64_t params = 0;
  std::map<std::string, int64_t> types;
  for (const std::string& n : st->names()) {
    params += shape_numel(st->shape(n));
    types[st->file_of(n).entry(n).dtype] += 1;
  }
  std::string tok_line = "none";
  std::error_code ec;
  if (fs::exists(fs::path(dir) / "tokenizer.json", ec)) tok_line = load_tokenizer(dir)->summary();
  if (json) {
    nlohmann::json j;
    j["path"] = dir;
    j["format"] = "hf";
    j["architecture"] = c.arch;
    j["tensors"] = st->size();
    j["shards"] = st->files().size();
    j["parameters"] = params;
    j["tensor_types"] = types;
    j["config"] = {{"dim", c.dim}, {"hidden_dim", c.hidden_dim}, {"layers", c.n_layers}, {"heads", c.n_heads},
                   {"kv_heads", c.n_kv_heads}, {"head_dim", c.head_dim}, {"vocab", c.vocab_size},
                   {"context", c.context_length}, {"rope_theta", c.rope_theta}, {"norm_eps", c.norm_eps},
                   {"tied_embeddings", c.tied_embeddings}};
    j["tokenizer"] = tok_line;
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("file:        %s (Hugging Face directory, %zu safetensors file%s)\n", dir.c_str(), st->files().size(),
              st->files().size() == 1 ? "" : "s");
  std::printf("model:       %s\n", c.describe().c_str());
  print_params_and_tokenizer(params, st->size(), types, tok_line);
  return 0;
}

struct Opts {
  CommonOptions common;
  std::string model;
  bool json = false;
};

std::function<int()> setup(CLI::App& app) {
  auto o = std::make_shared<Opts>();
  // Like every other command, with -m/--model; the bare path works too.
  auto* named = app.add_option("-m,--model", o->model, std::string("The model: ") + kModelInput)
                    ->check(CLI::ExistingPath);
  auto* positional = app.add_option("model_path", o->model, "The same, given without --model")->check(CLI::ExistingPath);
  named->excludes(positional);
  app.add_flag("--json", o->json, "Print JSON");
  add_common_options(app, o->common);
  return [o]() {
    apply_common_options(o->common);
    if (o->model.empty()) fail("info", "give the model: peft info --model FILE.gguf|DIR");
    std::error_code ec;
    if (std::filesystem::is_directory(o->model, ec)) return info_hf_dir(o->model, o->json);
    auto f = GgufFile::open(o->model);
    nlohmann::json j;
    j["path"] = o->model;
    j["format"] = "gguf v" + std::to_string(f->version());
    j["architecture"] = f->get_string("general.architecture", "?");
    j["name"] = f->get_string("general.name", "");
    int64_t params = 0;
    std::map<std::string, int64_t> types;
    for (const auto& t : f->tensors()) {
      params += shape_numel(t.shape);
      types[dtype_name(t.dtype)] += 1;
    }
    j["tensors"] = f->tensors().size();
    j["parameters"] = params;
    j["tensor_types"] = types;
    std::string config_line;
    const bool adapter = f->get_string("general.type", "model") == "adapter";
    if (adapter) {
      config_line = "LoRA adapter for '" + j["architecture"].get<std::string>() + "' (" + f->get_string("adapter.type", "?") +
                    ", alpha " + std::to_string(f->get_float("adapter.lora.alpha", 0)) + ")";
      j["adapter"] = {{"type", f->get_string("adapter.type", "?")}, {"alpha", f->get_float("adapter.lora.alpha", 0)}};
    } else if (!f->tensors().empty()) {
      LlamaConfig c = config_from_gguf(*f);
      config_line = c.describe();
      j["config"] = {{"dim", c.dim}, {"hidden_dim", c.hidden_dim}, {"layers", c.n_layers}, {"heads", c.n_heads},
                     {"kv_heads", c.n_kv_heads}, {"head_dim", c.head_dim}, {"vocab", c.vocab_size},
                     {"context", c.context_length}, {"rope_theta", c.rope_theta}, {"norm_eps", c.norm_eps},
                     {"tied_embeddings", c.tied_embeddings}};
    }
    std::string tok_line = "none";
    if (f->has("tokenizer.ggml.model")) {
      auto tok = load_gguf_tokenizer(*f);
      tok_line = tok->summary();
    }
    j["tokenizer"] = tok_line;
    if (o->json) {
      std::printf("%s\n", j.dump(2).c_str());
      return 0;
    }
    std::printf("file:        %s (%s)\n", o->model.c_str(), j["format"].get<std::string>().c_str());
    std::printf("name:        %s\n", j["name"].get<std::string>().c_str());
    std::printf("model:       %s\n", config_line.empty() ? "(no tensors: vocabulary only)" : config_line.c_str());
    print_params_and_tokenizer(params, f->tensors().size(), types, tok_line);
    return 0;
  };
}

PEFT_COMMAND("info", "Describe a model file: architecture, sizes, tensor types, tokenizer", setup);

}  // namespace
}  // namespace peft::cli
