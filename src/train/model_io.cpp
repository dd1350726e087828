#include "train/model_io.h"

#include "core/error.h"

namespace peft {

void save_pretrained(Pretrained& p, const std::string& out) {
  auto ends = [&](const std::string& s) { return out.size() >= s.size() && out.compare(out.size() - s.size(), s.size(), s) == 0; };
  if (ends(".gguf")) {
    if (p.format != "gguf")
      fail("model", "writing a Hugging Face model as GGUF is done by `peft convert`; merge to a directory instead");
    save_llama_gguf<float>(*p.model, p.gguf.get(), out);
    return;
  }
  fail("model", "writing a Hugging Face directory is not supported yet; use an output ending in .gguf");
}

}  // namespace peft
