// GGUF: llama.cpp's model file format (versions 2 and 3). See REFERENCE.md §8.
//
// GgufFile memory-maps a file and checks every size and offset against it
// before use: a truncated or corrupted file raises InputError "[gguf] ...",
// never an out-of-bounds read. GgufWriter writes a file to a temporary name
// and renames it into place.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "core/tensor.h"

namespace peft {

enum class GgufType : uint32_t {
  U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, BOOL = 7,
  STRING = 8, ARRAY = 9, U64 = 10, I64 = 11, F64 = 12,
};
const char* gguf_type_name(GgufType t);
bool gguf_type_is_integer(GgufType t);  // u8..i64 (not bool)
bool gguf_type_is_numeric(GgufType t);  // integers and floats (not bool)

// One metadata value. Scalars are widened into one of three C++ types; the
// original GGUF type is kept so a round trip writes the same type back.
// Arrays hold their items as GgufValues (nested arrays allowed).
struct GgufValue {
  GgufType type = GgufType::U32;
  GgufType elem_type = GgufType::U32;  // arrays only
  std::variant<int64_t, uint64_t, double, bool, std::string, std::vector<GgufValue>> v;

  static GgufValue u32(uint32_t x);
  static GgufValue i32(int32_t x);
  static GgufValue u64(uint64_t x);
  static GgufValue f32(float x);
  static GgufValue boolean(bool x);
  static GgufValue string(std::string s);
  static GgufValue array(GgufType elem_type, std::vector<GgufValue> items);
  static GgufValue string_array(const std::vector<std::string>& items);
  static GgufValue f32_array(const std::vector<float>& items);
  static GgufValue i32_array(const std::vector<int32_t>& items);

  bool is_array() const { return type == GgufType::ARRAY; }
  // Converting accessors; each throws "[gguf] key 'K' ..." style errors via
  // GgufFile's getters, which know the key name.
  int64_t as_int() const;        // any integer type (and bool)
  double as_double() const;      // any numeric type
  bool as_bool() const;
  const std::string& as_string() const;
  const std::vector<GgufValue>& as_array() const;
};

struct GgufTensorInfo {
  std::string name;
  std::vector<int64_t> ne;  // GGUF order: fastest dimension first
  Shape shape;              // row-major, PyTorch order: reverse of ne
  DType dtype = DType::F32;
  uint64_t offset = 0;      // relative to the start of the data section
  int64_t nbytes = 0;
};

// Maps ggml type ids (0 = F32, 1 = F16, 2 = Q4_0, 8 = Q8_0, 12 = Q4_K,
// 13 = Q5_K, 14 = Q6_K, 30 = BF16, ...) to our DType; throws for types we
// cannot read.
DType ggml_type_to_dtype(uint32_t ggml_type, const std::string& tensor_name);
uint32_t dtype_to_ggml_type(DType t);
// llama.cpp's general.file_type for a file whose matrices are mostly `t`
// (informational: readers go by each tensor's own type).
uint32_t gguf_file_type_of(DType t);
// llama.cpp's name for a ggml type id ("Q4_K"), or "unknown".
const char* ggml_type_name(uint32_t ggml_type);

class GgufFile {
 public:
  // Opens and validates. Throws InputError "[gguf] <path>: ..." on any problem.
  static std::shared_ptr<GgufFile> open(const std::string& path);

  const std::string& path() const { return path_; }
  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }

  const std::map<std::string, GgufValue>& metadata() const { return kv_; }
  // The keys in the order the file stores them (for faithful rewrites).
  const std::vector<std::string>& keys() const { return key_order_; }
  bool has(const std::string& key) const { return kv_.count(key) > 0; }
  const GgufValue& get(const std::string& key) const;  // throws if missing
  // Typed getters: throw "[gguf] <path>: key 'K' is missing" or "... has type X, expected Y".
  std::string get_string(const std::string& key) const;
  int64_t get_int(const std::string& key) const;
  double get_float(const std::string& key) const;
  bool get_bool(const std::string& key) const;
  std::vector<std::string> get_string_array(const std::string& key) const;
  std::vector<float> get_f32_array(const std::string& key) const;
  std::vector<int64_t> get_int_array(const std::string& key) const;
  // With defaults when the key is absent (still throw on a wrong type).
  std::string get_string(const std::string& key, const std::string& def) const;
  int64_t get_int(const std::string& key, int64_t def) const;
  double get_float(const std::string& key, double def) const;
  bool get_bool(const std::string& key, bool def) const;

  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* find_tensor(const std::string& name) const;  // null if absent
  // A view into the mapped file (kept alive by the returned tensor).
  Tensor tensor(const std::string& name) const;  // throws if absent
  // Tells the kernel that a tensor's pages will not be read again soon, so a
  // loader that has copied (or converted) the tensor does not keep both in
  // memory. The mapping stays valid: a later read faults the pages back in.
  void release_pages(const std::string& name) const;

 private:
  std::string path_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  std::map<std::string, GgufValue> kv_;
  std::vector<std::string> key_order_;
  std::vector<GgufTensorInfo> tensors_;
  std::map<std::string, size_t> tensor_index_;
  std::shared_ptr<const void> mapping_;  // keeps the mmap alive
  const uint8_t* data_ = nullptr;        // start of the data section
  friend struct GgufParser;
};

class GgufWriter {
 public:
  void set(const std::string& key, GgufValue value);
  // Keeps a reference to the tensor's memory until write().
  void add_tensor(const std::string& name, const Tensor& t);
  // A tensor whose bytes are made only when write() reaches it: `fill`
  // writes dtype_bytes(dtype, numel) bytes to the buffer it is given. One
  // buffer (the largest such tensor) is reused, so a file far bigger than
  // memory is written one tensor at a time (bench/make_model's 7B models).
  using TensorFill = std::function<void(uint8_t* dst)>;
  void add_tensor(const std::string& name, DType dtype, Shape shape, TensorFill fill);
  void set_alignment(uint64_t a) { alignment_ = a; }
  // Writes version 3 to `path` + ".tmp" and renames it into place.
  void write(const std::string& path) const;

 private:
  std::vector<std::pair<std::string, GgufValue>> kv_;
  struct Entry {
    std::string name;
    DType dtype;
    Shape shape;
    Tensor held;      // add_tensor(name, t): the bytes to write
    TensorFill fill;  // or a function that makes them
    int64_t nbytes() const { return dtype_bytes(dtype, shape_numel(shape)); }
  };
  std::vector<Entry> tensors_;
  uint64_t alignment_ = 32;
};

}  // namespace peft
