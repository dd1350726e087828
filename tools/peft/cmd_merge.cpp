// peft merge: fold adapters into the base weights and write the merged model.
#include <cctype>
#include <optional>

#include "command.h"
#include "common.h"
#include "core/error.h"
#include "core/log.h"
#include "embed/embedder.h"
#include "embed/st_folder.h"
#include "io/atomic_file.h"
#include "train/apply_adapter.h"
#include "train/model_io.h"
#include "train/pretrained.h"

namespace peft::cli {
namespace {

// --out-dtype: null for "keep".
std::optional<DType> parse_out_dtype(const std::string& s) {
  if (s == "keep") return std::nullopt;
  for (DType t : {DType::F32, DType::BF16, DType::F16, DType::Q8_0, DType::Q4_0, DType::Q4_K, DType::Q5_K, DType::Q6_K}) {
    std::string n = dtype_name(t);
    for (char& c : n) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (s == n) return t;
  }
  fail("merge", "--out-dtype must be keep, f32, bf16, f16, q8_0, q4_0, q4_k, q5_k or q6_k, got '" + s + "'");
}

struct Opts {
  std::string base_dtype = "auto";
  CommonOptions common;
  std::string model, out;
  std::vector<std::string> adapters;
  std::string out_dtype = "keep";
};

std::function<int()> setup(CLI::App& app) {
  auto o = std::make_shared<Opts>();
  app.add_option("-m,--model", o->model, std::string("Base model: ") + kModelInput)->required()->check(CLI::ExistingPath);
  app.add_option("--adapter", o->adapters, "PEFT adapter folder, optionally DIR:SCALE; repeat to merge several")->default_str("")->required();
  app.add_option("-o,--out", o->out, "Output: FILE.gguf, or a directory for the Hugging Face layout")->required();
  add_base_dtype_option(app, o->base_dtype);
  app.add_option("--out-dtype", o->out_dtype,
                 "Type of the written GGUF matrices: keep (each as the base held it; merged quantized layers are "
                 "re-quantized), f32, bf16, f16, q8_0, q4_0, q4_k, q5_k or q6_k")
      ->default_str("keep");
  add_common_options(app, o->common);
  return [o]() {
    apply_common_options(o->common);
    const std::vector<AdapterSpec> specs = check_adapter_folders(o->adapters);
    if (is_encoder_model(o->model)) {
      // An encoder embedder: the merged model as a sentence-transformers folder.
      if (o->out.size() > 5 && o->out.compare(o->out.size() - 5, 5, ".gguf") == 0)
        fail("merge", "an encoder merges into a sentence-transformers folder, not " + o->out);
      check_dir_writable(o->out, "merge");
      auto e = Embedder::load(o->model);
      for (const auto& a : specs) merge_encoder_adapter(*e, a);
      save_sentence_transformers(*e, o->out);
      log_info("merged " + std::to_string(o->adapters.size()) + " adapter(s) into the sentence-transformers folder " +
               o->out);
      return 0;
    }
    check_model_output(o->out, "merge");
    const std::optional<DType> out_type = parse_out_dtype(o->out_dtype);
    Pretrained p = load_pretrained(o->model, parse_base_dtype(o->base_dtype));
    log_base_storage(p);
    for (const auto& a : specs) merge_adapter(p, a, out_type);
    save_pretrained(p, o->out, out_type);
    log_info("merged " + std::to_string(o->adapters.size()) + " adapter(s) into " + o->out);
    return 0;
  };
}

PEFT_COMMAND("merge", "Merge adapters into a model and write it (GGUF or Hugging Face directory; an encoder embedder as a sentence-transformers folder)", setup);

}  // namespace
}  // namespace peft::cli
