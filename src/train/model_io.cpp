#include "train/model_io.h"

#include "core/log.h"
#include "train/convert.h"

namespace peft {

void save_pretrained(Pretrained& p, const std::string& out, std::optional<DType> matrix_type) {
  const bool gguf_out = out.size() > 5 && out.compare(out.size() - 5, 5, ".gguf") == 0;
  for (Param<float>* q : p.model->base_params()) {
    if (!q->frozen() || q->shape.size() != 2 || (q->group != "base" && q->group != "embed")) continue;
    // A Hugging Face directory is written in f32; GGUF in the asked type.
    DType t = gguf_out ? matrix_type.value_or(q->storage_type()) : DType::F32;
    if (!storable_as(t, q->shape[1])) t = DType::F32;
    if (t != q->storage_type()) q->store_as(t);
  }
  ConvertReport report;
  save_model_as(*p.model, p.gguf.get(), p.format == "hf" ? p.path : std::string(), out, &report);
  for (const auto& note : report.notes) log_info(note);
}

}  // namespace peft
