// safetensors: Hugging Face's tensor file format. See REFERENCE.md §7.
//
// Layout: u64 little-endian N, then N bytes of JSON header, then the data.
//   {"__metadata__": {str: str},                      (optional)
//    "<name>": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...}
// Offsets are bytes relative to the first byte after the header; data is
// row-major and little-endian.
//
// What the reader accepts is what Hugging Face's own library accepts: the
// format document only says offsets are relative to the data section, but its
// reference reader (safetensors/src/tensor.rs, Metadata::validate) requires the
// tensors, sorted by offset, to tile the data section exactly — no holes, no
// overlap, nothing after the last tensor. We reject the same files, so a file
// we read is one every other tool reads too, and a stray byte is reported
// instead of ignored. The header may end with spaces (writers pad to 8 bytes).
//
// Dtypes: F32, F16, BF16, F64 and I32 become Tensors. Other dtypes of the
// format (I64, U8, BOOL, F8_*, ...) still take part in the layout checks, so a
// file holding e.g. an I64 buffer opens, but asking for that tensor's dtype or
// data throws an InputError naming the tensor and its dtype. A dtype name the
// format does not define fails at open.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace peft {

// One header entry, as written in the file.
struct SafetensorsEntry {
  std::string dtype;   // the file's dtype name: "F32", "BF16", "I64", ...
  Shape shape;         // row-major, PyTorch order
  uint64_t begin = 0;  // byte offsets relative to the data section
  uint64_t end = 0;
};

// Our DType for a safetensors dtype name; false if we cannot represent it.
bool safetensors_dtype_to_dtype(const std::string& name, DType* out);
// The safetensors name of a DType we can write ("F32", "F16", "BF16", "F64",
// "I32"); throws InputError for quantized types.
const char* dtype_to_safetensors_name(DType t);

class SafetensorsFile {
 public:
  // Memory-maps and validates. Throws InputError "[safetensors] <path>: ...".
  static std::shared_ptr<SafetensorsFile> open(const std::string& path);
  // Parses bytes already in memory; `label` names them in errors and
  // `holder` keeps them alive for the tensors handed out.
  static std::shared_ptr<SafetensorsFile> from_bytes(const std::string& label, const uint8_t* data,
                                                     size_t size, std::shared_ptr<const void> holder);

  const std::string& path() const { return path_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  std::vector<std::string> names() const;  // sorted
  size_t size() const { return entries_.size(); }
  bool has(const std::string& name) const { return entries_.count(name) > 0; }
  const SafetensorsEntry& entry(const std::string& name) const;  // throws if absent
  DType dtype(const std::string& name) const;  // throws if absent or not representable
  const Shape& shape(const std::string& name) const;
  // A view into the mapping, which the tensor keeps alive. Data whose address
  // is not a multiple of the element size (possible only in files whose
  // header length is not a multiple of 8) is copied into an owned tensor.
  Tensor tensor(const std::string& name) const;

 private:
  std::string path_;
  std::map<std::string, std::string> metadata_;
  std::map<std::string, SafetensorsEntry> entries_;
  std::shared_ptr<const void> holder_;
  const uint8_t* data_ = nullptr;  // start of the data section
  friend struct SafetensorsParser;
};

// Collects tensors and writes them as one file the way Hugging Face's writer
// does: tensors ordered by dtype alignment (largest element first: F64, F32,
// I32, BF16, F16) and then by name, data packed back to back from offset 0,
// the compact JSON header ("__metadata__" first, keys sorted) padded with
// spaces to a multiple of 8 bytes so every tensor starts 8-byte aligned.
class SafetensorsWriter {
 public:
  // Keeps a reference to the tensor's memory until write(). Throws InputError
  // for a duplicate or empty name, "__metadata__", or a type we cannot write.
  void add(const std::string& name, const Tensor& t);
  void set_metadata(const std::string& key, const std::string& value);
  size_t size() const { return tensors_.size(); }
  // The 8-byte length plus the padded header, as write() would emit them.
  std::string header_bytes() const;
  // Writes `path` + ".tmp" and renames it into place. Throws InputError
  // "[safetensors] <path>: ..." if the file cannot be written.
  void write(const std::string& path) const;

 private:
  std::map<std::string, Tensor> tensors_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace peft
