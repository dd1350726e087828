// GGUF metadata values, ggml type ids, and GgufFile's typed getters.
// The parser is in gguf_reader.cpp, the writer in gguf_writer.cpp.
#include <sys/mman.h>
#include <unistd.h>

#include <limits>

#include "core/error.h"
#include "io/gguf.h"

namespace peft {

const char* gguf_type_name(GgufType t) {
  switch (t) {
    case GgufType::U8: return "u8";
    case GgufType::I8: return "i8";
    case GgufType::U16: return "u16";
    case GgufType::I16: return "i16";
    case GgufType::U32: return "u32";
    case GgufType::I32: return "i32";
    case GgufType::F32: return "f32";
    case GgufType::BOOL: return "bool";
    case GgufType::STRING: return "string";
    case GgufType::ARRAY: return "array";
    case GgufType::U64: return "u64";
    case GgufType::I64: return "i64";
    case GgufType::F64: return "f64";
  }
  return "unknown";
}

bool gguf_type_is_integer(GgufType t) {
  switch (t) {
    case GgufType::U8:
    case GgufType::I8:
    case GgufType::U16:
    case GgufType::I16:
    case GgufType::U32:
    case GgufType::I32:
    case GgufType::U64:
    case GgufType::I64: return true;
    default: return false;
  }
}

bool gguf_type_is_numeric(GgufType t) {
  return gguf_type_is_integer(t) || t == GgufType::F32 || t == GgufType::F64;
}

// ---- GgufValue ----

GgufValue GgufValue::u32(uint32_t x) {
  GgufValue r;
  r.type = GgufType::U32;
  r.v = static_cast<uint64_t>(x);
  return r;
}
GgufValue GgufValue::i32(int32_t x) {
  GgufValue r;
  r.type = GgufType::I32;
  r.v = static_cast<int64_t>(x);
  return r;
}
GgufValue GgufValue::u64(uint64_t x) {
  GgufValue r;
  r.type = GgufType::U64;
  r.v = x;
  return r;
}
GgufValue GgufValue::f32(float x) {
  GgufValue r;
  r.type = GgufType::F32;
  r.v = static_cast<double>(x);
  return r;
}
GgufValue GgufValue::boolean(bool x) {
  GgufValue r;
  r.type = GgufType::BOOL;
  r.v = x;
  return r;
}
GgufValue GgufValue::string(std::string s) {
  GgufValue r;
  r.type = GgufType::STRING;
  r.v = std::move(s);
  return r;
}
GgufValue GgufValue::array(GgufType elem_type, std::vector<GgufValue> items) {
  GgufValue r;
  r.type = GgufType::ARRAY;
  r.elem_type = elem_type;
  r.v = std::move(items);
  return r;
}
GgufValue GgufValue::string_array(const std::vector<std::string>& items) {
  std::vector<GgufValue> v;
  v.reserve(items.size());
  for (const auto& s : items) v.push_back(string(s));
  return array(GgufType::STRING, std::move(v));
}
GgufValue GgufValue::f32_array(const std::vector<float>& items) {
  std::vector<GgufValue> v;
  v.reserve(items.size());
  for (float x : items) v.push_back(f32(x));
  return array(GgufType::F32, std::move(v));
}
GgufValue GgufValue::i32_array(const std::vector<int32_t>& items) {
  std::vector<GgufValue> v;
  v.reserve(items.size());
  for (int32_t x : items) v.push_back(i32(x));
  return array(GgufType::I32, std::move(v));
}

namespace {
[[noreturn]] void wrong_value_type(const GgufValue& x, const char* expected) {
  fail("gguf", std::string("value has type ") + gguf_type_name(x.type) + ", expected " + expected);
}
}  // namespace

int64_t GgufValue::as_int() const {
  if (const auto* i = std::get_if<int64_t>(&v)) return *i;
  if (const auto* u = std::get_if<uint64_t>(&v)) {
    if (*u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      fail("gguf", "value " + std::to_string(*u) + " does not fit in a signed 64-bit integer");
    }
    return static_cast<int64_t>(*u);
  }
  if (const auto* b = std::get_if<bool>(&v)) return *b ? 1 : 0;
  wrong_value_type(*this, "an integer");
}

double GgufValue::as_double() const {
  if (const auto* d = std::get_if<double>(&v)) return *d;
  if (const auto* i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
  if (const auto* u = std::get_if<uint64_t>(&v)) return static_cast<double>(*u);
  wrong_value_type(*this, "a number");
}

bool GgufValue::as_bool() const {
  if (const auto* b = std::get_if<bool>(&v)) return *b;
  wrong_value_type(*this, "bool");
}

const std::string& GgufValue::as_string() const {
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  wrong_value_type(*this, "string");
}

const std::vector<GgufValue>& GgufValue::as_array() const {
  if (const auto* a = std::get_if<std::vector<GgufValue>>(&v)) return *a;
  wrong_value_type(*this, "array");
}

// ---- ggml tensor types ----

const char* ggml_type_name(uint32_t t) {
  // Ids 4, 5 and 31..33, 36..38 belonged to types llama.cpp has removed.
  static const char* const kNames[] = {
      "F32",     "F16",     "Q4_0",   "Q4_1",  "Q4_2",   "Q4_3",   "Q5_0",    "Q5_1",    "Q8_0",
      "Q8_1",    "Q2_K",    "Q3_K",   "Q4_K",  "Q5_K",   "Q6_K",   "Q8_K",    "IQ2_XXS", "IQ2_XS",
      "IQ3_XXS", "IQ1_S",   "IQ4_NL", "IQ3_S", "IQ2_S",  "IQ4_XS", "I8",      "I16",     "I32",
      "I64",     "F64",     "IQ1_M",  "BF16",  "Q4_0_4_4", "Q4_0_4_8", "Q4_0_8_8", "TQ1_0", "TQ2_0",
      "IQ4_NL_4_4", "IQ4_NL_4_8", "IQ4_NL_8_8", "MXFP4"};
  if (t < sizeof(kNames) / sizeof(kNames[0])) return kNames[t];
  return "unknown";
}

namespace {
bool ggml_to_dtype(uint32_t t, DType* out) {
  switch (t) {
    case 0: *out = DType::F32; return true;
    case 1: *out = DType::F16; return true;
    case 2: *out = DType::Q4_0; return true;
    case 8: *out = DType::Q8_0; return true;
    case 12: *out = DType::Q4_K; return true;
    case 13: *out = DType::Q5_K; return true;
    case 14: *out = DType::Q6_K; return true;
    case 26: *out = DType::I32; return true;
    case 28: *out = DType::F64; return true;
    case 30: *out = DType::BF16; return true;
    default: return false;
  }
}
}  // namespace

DType ggml_type_to_dtype(uint32_t ggml_type, const std::string& tensor_name) {
  DType d;
  if (!ggml_to_dtype(ggml_type, &d)) {
    fail("gguf", "tensor '" + tensor_name + "' has ggml type " + std::to_string(ggml_type) + " (" +
                     ggml_type_name(ggml_type) + ") which peft.cpp cannot read yet");
  }
  return d;
}

uint32_t gguf_file_type_of(DType t) {
  switch (t) {
    case DType::F16: return 1;
    case DType::Q4_0: return 2;
    case DType::Q8_0: return 7;
    case DType::Q4_K: return 15;  // Q4_K_M
    case DType::Q5_K: return 17;  // Q5_K_M
    case DType::Q6_K: return 18;
    case DType::BF16: return 32;
    default: return 0;
  }
}

uint32_t dtype_to_ggml_type(DType t) {
  switch (t) {
    case DType::F32: return 0;
    case DType::F16: return 1;
    case DType::Q4_0: return 2;
    case DType::Q8_0: return 8;
    case DType::Q4_K: return 12;
    case DType::Q5_K: return 13;
    case DType::Q6_K: return 14;
    case DType::I32: return 26;
    case DType::F64: return 28;
    case DType::BF16: return 30;
  }
  internal_fail("gguf", "no ggml type for this dtype");
}

// ---- GgufFile getters ----

namespace {
std::string type_desc(const GgufValue& x) {
  if (x.is_array()) return std::string("array of ") + gguf_type_name(x.elem_type);
  return gguf_type_name(x.type);
}
}  // namespace

const GgufValue& GgufFile::get(const std::string& key) const {
  auto it = kv_.find(key);
  if (it == kv_.end()) fail("gguf", path_ + ": key '" + key + "' is missing");
  return it->second;
}

namespace {
[[noreturn]] void wrong_key_type(const std::string& path, const std::string& key, const GgufValue& x,
                                 const char* expected) {
  fail("gguf", path + ": key '" + key + "' has type " + type_desc(x) + ", expected " + expected);
}
int64_t checked_int(const std::string& path, const std::string& key, const GgufValue& x) {
  if (const auto* u = std::get_if<uint64_t>(&x.v)) {
    if (*u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      fail("gguf", path + ": key '" + key + "' value " + std::to_string(*u) + " is too large");
    }
  }
  return x.as_int();
}
}  // namespace

std::string GgufFile::get_string(const std::string& key) const {
  const GgufValue& x = get(key);
  if (x.type != GgufType::STRING) wrong_key_type(path_, key, x, "string");
  return x.as_string();
}

int64_t GgufFile::get_int(const std::string& key) const {
  const GgufValue& x = get(key);
  if (!gguf_type_is_integer(x.type) && x.type != GgufType::BOOL) wrong_key_type(path_, key, x, "an integer");
  return checked_int(path_, key, x);
}

double GgufFile::get_float(const std::string& key) const {
  const GgufValue& x = get(key);
  if (!gguf_type_is_numeric(x.type)) wrong_key_type(path_, key, x, "a number");
  return x.as_double();
}

bool GgufFile::get_bool(const std::string& key) const {
  const GgufValue& x = get(key);
  if (x.type != GgufType::BOOL) wrong_key_type(path_, key, x, "bool");
  return x.as_bool();
}

std::vector<std::string> GgufFile::get_string_array(const std::string& key) const {
  const GgufValue& x = get(key);
  if (!x.is_array() || x.elem_type != GgufType::STRING) wrong_key_type(path_, key, x, "array of string");
  std::vector<std::string> r;
  r.reserve(x.as_array().size());
  for (const auto& item : x.as_array()) r.push_back(item.as_string());
  return r;
}

std::vector<float> GgufFile::get_f32_array(const std::string& key) const {
  const GgufValue& x = get(key);
  if (!x.is_array() || !gguf_type_is_numeric(x.elem_type)) wrong_key_type(path_, key, x, "array of numbers");
  std::vector<float> r;
  r.reserve(x.as_array().size());
  for (const auto& item : x.as_array()) r.push_back(static_cast<float>(item.as_double()));
  return r;
}

std::vector<int64_t> GgufFile::get_int_array(const std::string& key) const {
  const GgufValue& x = get(key);
  if (!x.is_array() || !(gguf_type_is_integer(x.elem_type) || x.elem_type == GgufType::BOOL)) {
    wrong_key_type(path_, key, x, "array of integers");
  }
  std::vector<int64_t> r;
  r.reserve(x.as_array().size());
  for (const auto& item : x.as_array()) r.push_back(checked_int(path_, key, item));
  return r;
}

std::string GgufFile::get_string(const std::string& key, const std::string& def) const {
  return has(key) ? get_string(key) : def;
}
int64_t GgufFile::get_int(const std::string& key, int64_t def) const { return has(key) ? get_int(key) : def; }
double GgufFile::get_float(const std::string& key, double def) const { return has(key) ? get_float(key) : def; }
bool GgufFile::get_bool(const std::string& key, bool def) const { return has(key) ? get_bool(key) : def; }

const GgufTensorInfo* GgufFile::find_tensor(const std::string& name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

Tensor GgufFile::tensor(const std::string& name) const {
  const GgufTensorInfo* info = find_tensor(name);
  if (!info) fail("gguf", path_ + ": no tensor named '" + name + "'");
  return Tensor::view(info->dtype, info->shape, data_ + info->offset, mapping_);
}

void GgufFile::release_pages(const std::string& name) const {
  const GgufTensorInfo* t = find_tensor(name);
  if (!t || t->nbytes == 0) return;
  // Only whole pages inside the tensor's range: neighbours stay untouched.
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  uintptr_t begin = reinterpret_cast<uintptr_t>(data_ + t->offset);
  uintptr_t end = begin + static_cast<uintptr_t>(t->nbytes);
  begin = (begin + page - 1) / page * page;
  end = end / page * page;
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

}  // namespace peft
