#include "io/safetensors.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"
#include "io/mapped_file.h"

namespace peft {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors data is little-endian; so must the host be");

namespace {

using Json = nlohmann::json;

// Hugging Face's reader refuses headers above this (tensor.rs MAX_HEADER_SIZE);
// a larger length field is corruption, not a model.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;
// Real headers nest three deep (root, entry, shape list); the limit keeps a
// hostile "[[[[..." header from costing unbounded recursion anywhere.
constexpr int kMaxJsonDepth = 16;

// Every byte-sized dtype the format defines, with its element size and its
// rank in Hugging Face's alignment order (their Dtype enum order: the writer
// puts larger ranks first).
struct DtypeInfo {
  const char* name;
  int bytes;
  int rank;
};
constexpr DtypeInfo kDtypes[] = {
    {"BOOL", 1, 0},    {"U8", 1, 1},   {"I8", 1, 2},  {"F8_E5M2", 1, 3}, {"F8_E4M3", 1, 4},
    {"I16", 2, 5},     {"U16", 2, 6},  {"F16", 2, 7}, {"BF16", 2, 8},    {"I32", 4, 9},
    {"U32", 4, 10},    {"F32", 4, 11}, {"F64", 8, 12}, {"I64", 8, 13},   {"U64", 8, 14},
    {"F8_E8M0", 1, 15}, {"C64", 8, 16},
};

const DtypeInfo* find_dtype(const std::string& name) {
  for (const auto& d : kDtypes)
    if (name == d.name) return &d;
  return nullptr;
}

// A JSON value for an error message: short, one line.
std::string brief(const Json& j) {
  std::string s = j.dump(-1, ' ', true, Json::error_handler_t::replace);
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

bool json_to_u64(const Json& j, uint64_t* out) {
  if (j.is_number_unsigned()) {
    *out = j.get<uint64_t>();
    return true;
  }
  if (j.is_number_integer()) {
    int64_t v = j.get<int64_t>();
    if (v < 0) return false;
    *out = static_cast<uint64_t>(v);
    return true;
  }
  return false;
}

// nlohmann's messages start with "[json.exception.parse_error.101] "; our
// one-line errors carry their own area, so drop that prefix.
std::string json_error_text(const std::exception& e) {
  std::string s = e.what();
  if (s.rfind("[json.exception.", 0) == 0) {
    size_t close = s.find("] ");
    if (close != std::string::npos) s = s.substr(close + 2);
  }
  return s;
}

}  // namespace

bool safetensors_dtype_to_dtype(const std::string& name, DType* out) {
  if (name == "F32") *out = DType::F32;
  else if (name == "F16") *out = DType::F16;
  else if (name == "BF16") *out = DType::BF16;
  else if (name == "F64") *out = DType::F64;
  else if (name == "I32") *out = DType::I32;
  else return false;
  return true;
}

const char* dtype_to_safetensors_name(DType t) {
  switch (t) {
    case DType::F32: return "F32";
    case DType::F16: return "F16";
    case DType::BF16: return "BF16";
    case DType::F64: return "F64";
    case DType::I32: return "I32";
    default: break;
  }
  fail("safetensors", std::string("type ") + dtype_name(t) + " cannot be stored in safetensors (F32, F16, BF16, F64, I32 only)");
}

// Reads the header and checks every entry against the bytes we have.
struct SafetensorsParser {
  const std::string& label;
  const uint8_t* bytes;
  size_t size;

  [[noreturn]] void bad(const std::string& problem) const { fail("safetensors", label + ": " + problem); }

  Json parse_header(const char* begin, const char* end) const {
    std::set<std::string> top_keys;
    auto on_event = [&](int depth, Json::parse_event_t event, Json& parsed) -> bool {
      if (depth > kMaxJsonDepth) bad("header nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
      // nlohmann keeps the last of duplicate keys silently; a second entry
      // of one name is a corrupt or hand-edited file, so say so.
      if (event == Json::parse_event_t::key && depth == 1 && !top_keys.insert(parsed.get<std::string>()).second)
        bad("header names '" + parsed.get<std::string>() + "' twice");
      return true;
    };
    try {
      return Json::parse(begin, end, on_event);
    } catch (const Json::exception& e) {
      bad("header is not valid JSON: " + json_error_text(e));
    }
  }

  void read_metadata(const Json& m, SafetensorsFile& f) const {
    if (m.is_null()) return;
    if (!m.is_object()) bad("__metadata__ must be an object of strings, got " + brief(m));
    for (const auto& [k, v] : m.items()) {
      if (!v.is_string()) bad("__metadata__ must map strings to strings; key '" + k + "' holds " + brief(v));
      f.metadata_[k] = v.get<std::string>();
    }
  }

  SafetensorsEntry read_entry(const std::string& name, const Json& e, uint64_t data_size) const {
    const std::string what = "tensor '" + name + "'";
    if (!e.is_object()) bad(what + ": entry is not an object, got " + brief(e));
    for (const char* key : {"dtype", "shape", "data_offsets"})
      if (!e.contains(key)) bad(what + ": entry has no '" + key + "'");
    SafetensorsEntry r;
    const Json& dt = e["dtype"];
    if (!dt.is_string()) bad(what + ": dtype must be a string, got " + brief(dt));
    r.dtype = dt.get<std::string>();
    const DtypeInfo* info = find_dtype(r.dtype);
    if (!info) bad(what + ": unknown dtype '" + r.dtype + "'");

    const Json& sh = e["shape"];
    if (!sh.is_array()) bad(what + ": shape must be a list of integers, got " + brief(sh));
    // numel · element size, with overflow checked at each step: the product
    // must equal end − begin, which is bounded by the file size.
    uint64_t nbytes = static_cast<uint64_t>(info->bytes);
    bool overflow = false;
    for (const Json& d : sh) {
      uint64_t v = 0;
      if (!json_to_u64(d, &v)) bad(what + ": shape must hold non-negative integers, got " + brief(sh));
      if (v > static_cast<uint64_t>(INT64_MAX)) bad(what + ": dimension " + brief(d) + " is too large");
      r.shape.push_back(static_cast<int64_t>(v));
      uint64_t next = 0;
      if (__builtin_mul_overflow(nbytes, v, &next)) overflow = true;
      nbytes = next;
    }
    if (overflow) bad(what + ": shape " + brief(sh) + " holds more bytes than any file");

    const Json& off = e["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !json_to_u64(off[0], &r.begin) || !json_to_u64(off[1], &r.end))
      bad(what + ": data_offsets must be two non-negative integers [begin, end], got " + brief(off));
    if (r.end < r.begin) bad(what + ": data_offsets " + brief(off) + " end before they begin");
    if (r.end > data_size)
      bad(what + ": data_offsets " + brief(off) + " end past the data section (" + std::to_string(data_size) + " bytes)");
    if (r.end - r.begin != nbytes)
      bad(what + ": data_offsets " + brief(off) + " span " + std::to_string(r.end - r.begin) + " bytes but " + r.dtype +
          " " + shape_str(r.shape) + " needs " + std::to_string(nbytes));
    return r;
  }

  // The tensors sorted by offset must tile [0, data_size) exactly (see the
  // header comment: Hugging Face's rule).
  void check_coverage(const SafetensorsFile& f, uint64_t data_size) const {
    std::vector<std::pair<const std::string*, const SafetensorsEntry*>> order;
    for (const auto& [name, e] : f.entries_) order.push_back({&name, &e});
    std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
      return std::tie(a.second->begin, a.second->end) < std::tie(b.second->begin, b.second->end);
    });
    uint64_t at = 0;
    const std::string* prev = nullptr;
    for (const auto& [name, e] : order) {
      if (e->begin < at) bad("tensors '" + *prev + "' and '" + *name + "' overlap");
      if (e->begin > at)
        bad(std::to_string(e->begin - at) + " unused bytes before tensor '" + *name + "' (at data offset " +
            std::to_string(at) + ")");
      at = e->end;
      prev = name;
    }
    if (at != data_size)
      bad(std::to_string(data_size - at) + " bytes after the last tensor are not described by the header");
  }

  void parse(SafetensorsFile& f) const {
    if (size < 8) bad("file is " + std::to_string(size) + " bytes, too short for the 8-byte header length");
    uint64_t n = 0;
    std::memcpy(&n, bytes, 8);
    if (n > kMaxHeaderBytes)
      bad("header length " + std::to_string(n) + " is over the 100 MB limit (corrupt file or not safetensors)");
    if (n > size - 8)
      bad("header length " + std::to_string(n) + " runs past the end of the file (" + std::to_string(size) + " bytes)");
    const char* h = reinterpret_cast<const char*>(bytes + 8);
    if (n == 0 || h[0] != '{') bad("header does not start with '{' (not a safetensors file?)");
    Json root = parse_header(h, h + n);
    if (!root.is_object()) bad("header is not a JSON object");

    const uint64_t data_size = size - 8 - n;
    for (const auto& [name, e] : root.items()) {
      if (name == "__metadata__") {
        read_metadata(e, f);
        continue;
      }
      f.entries_.emplace(name, read_entry(name, e, data_size));
    }
    check_coverage(f, data_size);
    f.data_ = bytes + 8 + n;
  }
};

std::shared_ptr<SafetensorsFile> SafetensorsFile::from_bytes(const std::string& label, const uint8_t* data, size_t size,
                                                             std::shared_ptr<const void> holder) {
  auto f = std::shared_ptr<SafetensorsFile>(new SafetensorsFile());
  f->path_ = label;
  f->holder_ = std::move(holder);
  SafetensorsParser{label, data, size}.parse(*f);
  return f;
}

std::shared_ptr<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
  std::string reason;
  auto mapped = MappedFile::try_open(path, &reason);
  if (!mapped) fail("safetensors", path + ": cannot open: " + reason);
  const uint8_t* data = mapped->data();
  size_t size = mapped->size();
  return from_bytes(path, data, size, std::shared_ptr<const void>(mapped, data));
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> r;
  r.reserve(entries_.size());
  for (const auto& [name, e] : entries_) r.push_back(name);
  return r;
}

const SafetensorsEntry& SafetensorsFile::entry(const std::string& name) const {
  auto it = entries_.find(name);
  if (it == entries_.end()) fail("safetensors", path_ + ": no tensor named '" + name + "'");
  return it->second;
}

DType SafetensorsFile::dtype(const std::string& name) const {
  const SafetensorsEntry& e = entry(name);
  DType t;
  if (!safetensors_dtype_to_dtype(e.dtype, &t))
    fail("safetensors", path_ + ": tensor '" + name + "' has dtype " + e.dtype +
                            ", which peft.cpp does not read (F32, F16, BF16, F64, I32 only)");
  return t;
}

const Shape& SafetensorsFile::shape(const std::string& name) const { return entry(name).shape; }

Tensor SafetensorsFile::tensor(const std::string& name) const {
  DType t = dtype(name);
  const SafetensorsEntry& e = entry(name);
  const uint8_t* p = data_ + e.begin;
  if (reinterpret_cast<uintptr_t>(p) % static_cast<uintptr_t>(dtype_block_bytes(t)) == 0)
    return Tensor::view(t, e.shape, p, holder_);
  // Misaligned (header length not a multiple of the element size): typed
  // loads from this address would be undefined behaviour, so copy.
  Tensor owned = Tensor::zeros(t, e.shape);
  std::memcpy(owned.mutable_data(), p, e.end - e.begin);
  return owned;
}

// ---- writer ----

void SafetensorsWriter::add(const std::string& name, const Tensor& t) {
  if (name.empty()) fail("safetensors", "a tensor name must not be empty");
  if (name == "__metadata__") fail("safetensors", "'__metadata__' is reserved and cannot name a tensor");
  if (tensors_.count(name)) fail("safetensors", "tensor '" + name + "' added twice");
  dtype_to_safetensors_name(t.dtype());  // throws for types the format lacks
  if (t.data() == nullptr && t.nbytes() > 0) fail("safetensors", "tensor '" + name + "' has no data");
  tensors_.emplace(name, t);
}

void SafetensorsWriter::set_metadata(const std::string& key, const std::string& value) { metadata_[key] = value; }

namespace {

// Hugging Face's order: larger alignment first, then by name (byte order).
std::vector<std::pair<const std::string*, const Tensor*>> write_order(const std::map<std::string, Tensor>& tensors) {
  std::vector<std::pair<const std::string*, const Tensor*>> order;
  for (const auto& [name, t] : tensors) order.push_back({&name, &t});
  std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
    int ra = find_dtype(dtype_to_safetensors_name(a.second->dtype()))->rank;
    int rb = find_dtype(dtype_to_safetensors_name(b.second->dtype()))->rank;
    if (ra != rb) return ra > rb;
    return *a.first < *b.first;
  });
  return order;
}

}  // namespace

std::string SafetensorsWriter::header_bytes() const {
  nlohmann::ordered_json root = nlohmann::ordered_json::object();
  if (!metadata_.empty()) {
    nlohmann::ordered_json m = nlohmann::ordered_json::object();
    for (const auto& [k, v] : metadata_) m[k] = v;
    root["__metadata__"] = std::move(m);
  }
  uint64_t offset = 0;
  for (const auto& [name, t] : write_order(tensors_)) {
    nlohmann::ordered_json e = nlohmann::ordered_json::object();
    e["dtype"] = dtype_to_safetensors_name(t->dtype());
    e["shape"] = t->shape();
    uint64_t n = static_cast<uint64_t>(t->nbytes());
    e["data_offsets"] = {offset, offset + n};
    offset += n;
    root[*name] = std::move(e);
  }
  std::string json;
  try {
    json = root.dump();
  } catch (const nlohmann::ordered_json::exception& e) {
    fail("safetensors", "a tensor name or metadata string is not valid UTF-8: " + json_error_text(e));
  }
  // Pad with spaces (valid JSON whitespace) so the data section, and with it
  // every tensor of up to 8-byte elements, starts 8-byte aligned.
  json.append((8 - json.size() % 8) % 8, ' ');
  uint64_t n = json.size();
  std::string out(8, '\0');
  std::memcpy(out.data(), &n, 8);
  return out + json;
}

void SafetensorsWriter::write(const std::string& path) const {
  const std::string header = header_bytes();
  const std::string tmp = path + ".tmp";
  std::FILE* fp = std::fopen(tmp.c_str(), "wb");
  if (!fp) fail("safetensors", path + ": cannot write: " + std::strerror(errno));
  bool ok = std::fwrite(header.data(), 1, header.size(), fp) == header.size();
  for (const auto& [name, t] : write_order(tensors_)) {
    if (!ok) break;
    size_t n = static_cast<size_t>(t->nbytes());
    ok = n == 0 || std::fwrite(t->data(), 1, n, fp) == n;
  }
  int saved_errno = ok ? 0 : errno;
  if (std::fclose(fp) != 0 && ok) {
    ok = false;
    saved_errno = errno;
  }
  if (ok && std::rename(tmp.c_str(), path.c_str()) != 0) {
    ok = false;
    saved_errno = errno;
  }
  if (!ok) {
    std::remove(tmp.c_str());
    fail("safetensors", path + ": cannot write: " + std::strerror(saved_errno));
  }
}

}  // namespace peft
