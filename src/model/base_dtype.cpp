#include "model/base_dtype.h"

#include "core/cpu_features.h"
#include "core/error.h"

namespace peft {

BaseDType parse_base_dtype(const std::string& s) {
  if (s == "auto") return BaseDType::Auto;
  if (s == "f32") return BaseDType::F32;
  if (s == "bf16") return BaseDType::BF16;
  if (s == "keep") return BaseDType::Keep;
  fail("model", "--base-dtype must be auto, f32, bf16 or keep, got '" + s + "'");
}

const char* base_dtype_name(BaseDType b) {
  switch (b) {
    case BaseDType::Auto: return "auto";
    case BaseDType::F32: return "f32";
    case BaseDType::BF16: return "bf16";
    case BaseDType::Keep: return "keep";
  }
  return "?";
}

DType base_storage_type(BaseDType policy, DType file) {
  const bool wide = file == DType::F32 || file == DType::F64;
  switch (policy) {
    case BaseDType::F32: return DType::F32;
    case BaseDType::BF16: return DType::BF16;
    case BaseDType::Keep: return wide ? DType::F32 : file;
    case BaseDType::Auto: return wide ? (cpu_has_bf16() ? DType::BF16 : DType::F32) : file;
  }
  return DType::F32;
}

}  // namespace peft
