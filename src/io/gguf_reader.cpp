// GgufFile::open: parses and validates a GGUF file in a read-only mapping.
//
// Layout (little-endian; versions 2 and 3 share it, version 1 used 32-bit
// counts and is rejected):
//   "GGUF" u32 version, u64 n_tensors, u64 n_kv
//   n_kv ×      { string key, u32 type, value }
//   n_tensors × { string name, u32 n_dims, u64 ne[n_dims], u32 ggml_type, u64 offset }
//   zero padding up to a multiple of general.alignment (default 32)
//   data section; each tensor at data_start + offset
// where string = u64 length + bytes, and an array value = u32 item type,
// u64 count, items.
//
// Every read goes through Cursor, which checks the remaining bytes first, so
// a truncated or corrupted file yields "[gguf] <path>: ..." and never reads
// outside the mapping. Counts are bounded by the bytes left before anything
// is allocated for them: an item takes at least one byte, so a count larger
// than the rest of the file is a lie we can reject without trusting it.
#include <algorithm>
#include <cstring>
#include <limits>

#include "core/error.h"
#include "io/gguf.h"
#include "io/mapped_file.h"

namespace peft {

namespace {

constexpr uint64_t kDefaultAlignment = 32;
constexpr int kMaxDims = 4;
constexpr int kMaxArrayDepth = 8;  // nested arrays; real files use depth 1

// Smallest encoded size of one value of type t (its payload only).
uint64_t min_value_bytes(GgufType t) {
  switch (t) {
    case GgufType::U8:
    case GgufType::I8:
    case GgufType::BOOL: return 1;
    case GgufType::U16:
    case GgufType::I16: return 2;
    case GgufType::U32:
    case GgufType::I32:
    case GgufType::F32: return 4;
    case GgufType::U64:
    case GgufType::I64:
    case GgufType::F64:
    case GgufType::STRING: return 8;  // the length
    case GgufType::ARRAY: return 12;  // item type + count
  }
  return 1;
}

bool valid_type(uint32_t t) { return t <= static_cast<uint32_t>(GgufType::F64); }

}  // namespace

struct GgufParser {
  const std::string& path;
  const uint8_t* base;
  uint64_t size;
  uint64_t pos = 0;

  // What is being read ("key 'K'", "tensor 'x'", "the header"), for errors.
  // Set once per entry rather than built per read: arrays have many items.
  std::string context = "the header";

  [[noreturn]] void bad(const std::string& msg) const { fail("gguf", path + ": " + msg); }

  uint64_t remaining() const { return size - pos; }

  void need(uint64_t n, const char* field) const {
    if (n > remaining()) {
      bad("file is truncated: " + std::string(field) + " of " + context + " at offset " + std::to_string(pos) +
          " needs " + std::to_string(n) + " bytes but only " + std::to_string(remaining()) + " remain");
    }
  }

  template <typename T>
  T read(const char* field) {
    need(sizeof(T), field);
    T v;
    std::memcpy(&v, base + pos, sizeof(T));
    pos += sizeof(T);
    return v;
  }

  std::string read_string(const char* field) {
    uint64_t n = read<uint64_t>(field);
    if (n > remaining()) {
      bad(std::string(field) + " of " + context + " at offset " + std::to_string(pos - 8) + " claims " +
          std::to_string(n) + " bytes but only " + std::to_string(remaining()) + " remain");
    }
    std::string s(reinterpret_cast<const char*>(base + pos), static_cast<size_t>(n));
    pos += n;
    return s;
  }

  GgufValue read_value(GgufType t, const std::string& key, int depth) {
    GgufValue x;
    x.type = t;
    const char* what = "value";
    switch (t) {
      case GgufType::U8: x.v = static_cast<uint64_t>(read<uint8_t>(what)); break;
      case GgufType::I8: x.v = static_cast<int64_t>(read<int8_t>(what)); break;
      case GgufType::U16: x.v = static_cast<uint64_t>(read<uint16_t>(what)); break;
      case GgufType::I16: x.v = static_cast<int64_t>(read<int16_t>(what)); break;
      case GgufType::U32: x.v = static_cast<uint64_t>(read<uint32_t>(what)); break;
      case GgufType::I32: x.v = static_cast<int64_t>(read<int32_t>(what)); break;
      case GgufType::U64: x.v = read<uint64_t>(what); break;
      case GgufType::I64: x.v = read<int64_t>(what); break;
      case GgufType::F32: x.v = static_cast<double>(read<float>(what)); break;
      case GgufType::F64: x.v = read<double>(what); break;
      case GgufType::BOOL: {
        uint8_t b = read<uint8_t>(what);
        if (b > 1) bad("key '" + key + "' has bool value " + std::to_string(b) + " (must be 0 or 1)");
        x.v = b == 1;
        break;
      }
      case GgufType::STRING: x.v = read_string(what); break;
      case GgufType::ARRAY: {
        if (depth >= kMaxArrayDepth) {
          bad("key '" + key + "' nests arrays deeper than " + std::to_string(kMaxArrayDepth));
        }
        uint32_t et = read<uint32_t>("array item type");
        if (!valid_type(et)) bad("key '" + key + "' is an array of unknown type " + std::to_string(et));
        x.elem_type = static_cast<GgufType>(et);
        uint64_t count = read<uint64_t>("array length");
        if (count > remaining() / min_value_bytes(x.elem_type)) {
          bad("key '" + key + "' claims " + std::to_string(count) + " array items of type " +
              gguf_type_name(x.elem_type) + " but only " + std::to_string(remaining()) + " bytes remain");
        }
        std::vector<GgufValue> items;
        items.reserve(static_cast<size_t>(count));
        for (uint64_t i = 0; i < count; ++i) items.push_back(read_value(x.elem_type, key, depth + 1));
        x.v = std::move(items);
        break;
      }
    }
    return x;
  }

  void parse(GgufFile& f) {
    if (size == 0) bad("file is empty, not a GGUF file");
    if (size < 4 || std::memcmp(base, "GGUF", 4) != 0) {
      std::string magic;
      for (uint64_t i = 0; i < std::min<uint64_t>(4, size); ++i) {
        char c = static_cast<char>(base[i]);
        if (c >= 32 && c < 127) {
          magic += c;
        } else {
          static const char kHex[] = "0123456789abcdef";
          magic += "\\x";
          magic += kHex[base[i] >> 4];
          magic += kHex[base[i] & 15];
        }
      }
      bad("not a GGUF file (starts with '" + magic + "', expected 'GGUF')");
    }
    pos = 4;
    uint32_t version = read<uint32_t>("version");
    if (version == 1) {
      bad("GGUF version 1 is not supported (only 2 and 3); convert the model again with a current llama.cpp");
    }
    if (version == 0x02000000u || version == 0x03000000u) bad("big-endian GGUF files are not supported");
    if (version != 2 && version != 3) bad("unsupported GGUF version " + std::to_string(version) + " (only 2 and 3)");
    f.version_ = version;

    uint64_t n_tensors = read<uint64_t>("tensor count");
    uint64_t n_kv = read<uint64_t>("metadata count");
    // A KV pair takes at least 8 (key length) + 4 (type) + 1 bytes, a tensor
    // info at least 8 (name length) + 4 (n_dims) + 4 (type) + 8 (offset).
    if (n_kv > remaining() / 13) {
      bad("header claims " + std::to_string(n_kv) + " metadata entries, more than the file can hold");
    }
    if (n_tensors > remaining() / 24) {
      bad("header claims " + std::to_string(n_tensors) + " tensors, more than the file can hold");
    }

    for (uint64_t i = 0; i < n_kv; ++i) {
      context = "metadata entry " + std::to_string(i);
      std::string key = read_string("key");
      context = "key '" + key + "'";
      uint32_t t = read<uint32_t>("value type");
      if (!valid_type(t)) bad("key '" + key + "' has unknown value type " + std::to_string(t));
      GgufValue value = read_value(static_cast<GgufType>(t), key, 0);
      if (f.kv_.count(key)) bad("duplicate key '" + key + "'");
      f.key_order_.push_back(key);
      f.kv_.emplace(std::move(key), std::move(value));
    }

    uint64_t alignment = kDefaultAlignment;
    if (auto it = f.kv_.find("general.alignment"); it != f.kv_.end()) {
      const GgufValue& a = it->second;
      if (!gguf_type_is_integer(a.type)) {
        bad(std::string("general.alignment has type ") + gguf_type_name(a.type) + ", expected an integer");
      }
      if (const auto* i = std::get_if<int64_t>(&a.v); i && *i <= 0) {
        bad("general.alignment " + std::to_string(*i) + " is not a power of two");
      }
      uint64_t v = std::holds_alternative<uint64_t>(a.v) ? std::get<uint64_t>(a.v)
                                                         : static_cast<uint64_t>(std::get<int64_t>(a.v));
      if (v == 0 || (v & (v - 1)) != 0) bad("general.alignment " + std::to_string(v) + " is not a power of two");
      alignment = v;
    }
    f.alignment_ = alignment;

    f.tensors_.reserve(static_cast<size_t>(n_tensors));
    for (uint64_t i = 0; i < n_tensors; ++i) f.tensors_.push_back(read_tensor_info(i, alignment));
    for (size_t i = 0; i < f.tensors_.size(); ++i) {
      if (!f.tensor_index_.emplace(f.tensors_[i].name, i).second) {
        bad("duplicate tensor name '" + f.tensors_[i].name + "'");
      }
    }

    // The data section starts at the next multiple of the alignment. Files
    // without tensors may end before it (vocab-only files often do).
    uint64_t pad = (alignment - pos % alignment) % alignment;
    if (n_tensors == 0) {
      f.data_ = base + std::min(size, pos + std::min(pad, remaining()));
      return;
    }
    if (pad > remaining()) bad("file is truncated: it ends before the data section");
    uint64_t data_start = pos + pad;
    uint64_t data_size = size - data_start;
    for (const GgufTensorInfo& t : f.tensors_) {
      uint64_t nbytes = static_cast<uint64_t>(t.nbytes);
      if (t.offset > data_size || nbytes > data_size - t.offset) {
        bad("tensor '" + t.name + "' (" + std::to_string(nbytes) + " bytes at data offset " +
            std::to_string(t.offset) + ") ends past the end of the file (the data section has " +
            std::to_string(data_size) + " bytes)");
      }
    }
    f.data_ = base + data_start;
  }

  GgufTensorInfo read_tensor_info(uint64_t index, uint64_t alignment) {
    GgufTensorInfo t;
    context = "tensor info " + std::to_string(index);
    t.name = read_string("name");
    const std::string what = "tensor '" + t.name + "'";
    context = what;
    uint32_t n_dims = read<uint32_t>("dimension count");
    if (n_dims > kMaxDims) bad(what + " has " + std::to_string(n_dims) + " dimensions (at most 4)");
    int64_t numel = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      uint64_t ne = read<uint64_t>("dimensions");
      if (ne > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        bad(what + " has negative dimension " + std::to_string(static_cast<int64_t>(ne)));
      }
      int64_t n = static_cast<int64_t>(ne);
      if (n != 0 && numel > std::numeric_limits<int64_t>::max() / n) bad(what + " has too many elements");
      numel *= n;
      t.ne.push_back(n);
    }
    t.shape.assign(t.ne.rbegin(), t.ne.rend());
    uint32_t ggml_type = read<uint32_t>("ggml type");
    try {
      t.dtype = ggml_type_to_dtype(ggml_type, t.name);
    } catch (const InputError&) {
      bad(what + " has ggml type " + std::to_string(ggml_type) + " (" + ggml_type_name(ggml_type) +
          ") which peft.cpp cannot read yet");
    }
    int64_t block = dtype_block_size(t.dtype);
    int64_t row = t.ne.empty() ? 1 : t.ne[0];
    if (row % block != 0) {
      bad(what + " has rows of " + std::to_string(row) + " values, not a multiple of the " + dtype_name(t.dtype) +
          " block size " + std::to_string(block));
    }
    if (numel / block > std::numeric_limits<int64_t>::max() / dtype_block_bytes(t.dtype)) {
      bad(what + " is too large");
    }
    t.nbytes = dtype_bytes(t.dtype, numel);
    t.offset = read<uint64_t>("data offset");
    if (t.offset % alignment != 0) {
      bad(what + " has data offset " + std::to_string(t.offset) + ", not a multiple of the alignment " +
          std::to_string(alignment));
    }
    return t;
  }
};

std::shared_ptr<GgufFile> GgufFile::open(const std::string& path) {
  std::string reason;
  auto mapped = MappedFile::try_open(path, &reason);
  if (!mapped) fail("gguf", path + ": cannot open: " + reason);
  auto f = std::make_shared<GgufFile>();
  f->path_ = path;
  GgufParser p{path, mapped->data(), mapped->size()};
  p.parse(*f);
  f->mapping_ = std::shared_ptr<const void>(mapped, mapped->data());
  return f;
}

}  // namespace peft
