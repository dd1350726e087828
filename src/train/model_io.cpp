#include "train/model_io.h"

#include "core/log.h"
#include "train/convert.h"

namespace peft {

void save_pretrained(Pretrained& p, const std::string& out) {
  ConvertReport report;
  save_model_as(*p.model, p.gguf.get(), p.format == "hf" ? p.path : std::string(), out, &report);
  for (const auto& note : report.notes) log_info(note);
}

}  // namespace peft
