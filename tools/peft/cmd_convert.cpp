// peft convert: a Llama-family model between a GGUF file and a Hugging Face
// directory (the logic is in train/convert).
#include <cstdio>

#include "command.h"
#include "common.h"
#include "train/convert.h"

namespace peft::cli {
namespace {

struct Opts {
  CommonOptions common;
  std::string model, out;
};

std::function<int()> setup(CLI::App& app) {
  auto o = std::make_shared<Opts>();
  app.add_option("-m,--model", o->model, std::string("Input: ") + kModelInput)->required()->check(CLI::ExistingPath);
  app.add_option("-o,--out", o->out, "Output: a path ending in .gguf for GGUF, else a Hugging Face directory")
      ->required();
  add_common_options(app, o->common);
  return [o]() {
    apply_common_options(o->common);
    check_model_output(o->out, "convert");
    ConvertReport r = convert_model(o->model, o->out);
    for (const std::string& n : r.notes) std::fprintf(stderr, "note: %s\n", n.c_str());
    std::printf("%s (%s) -> %s (%s): %s; tokenizer %s\n", o->model.c_str(), r.from.c_str(), o->out.c_str(),
                r.to.c_str(), r.description.c_str(), r.tokenizer_written ? "written" : "not written");
    return 0;
  };
}

PEFT_COMMAND("convert", "Convert a model between GGUF and a Hugging Face directory", setup);

}  // namespace
}  // namespace peft::cli
