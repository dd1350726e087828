// GgufWriter: writes GGUF version 3 in the layout llama.cpp writes, so a file
// read and written back comes out byte for byte the same:
//   header, KV pairs in insertion order, tensor infos, zero padding to the
//   alignment, then each tensor's bytes followed by zero padding to the
//   alignment (offsets are relative to the data section).
// Everything is checked and the metadata serialised before the file is
// created; the file goes to `path`.tmp and is renamed into place, so a
// failed write never leaves a half-written file under the final name.
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <type_traits>

#include "core/error.h"
#include "io/gguf.h"

namespace peft {

namespace {

constexpr uint64_t kDefaultAlignment = 32;

struct Out {
  std::string buf;
  template <typename T>
  void put(T v) {
    char b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    buf.append(b, sizeof(T));
  }
  void put_string(const std::string& s) {
    put<uint64_t>(s.size());
    buf += s;
  }
};

[[noreturn]] void cannot_write(const std::string& path, const std::string& why) {
  fail("gguf", "cannot write '" + path + "': " + why);
}

// The integer held by x, which must fit in T (the width x.type names).
template <typename T>
T int_in_range(const GgufValue& x, const std::string& path, const std::string& key) {
  using Lim = std::numeric_limits<T>;
  bool ok = false;
  if (const auto* i = std::get_if<int64_t>(&x.v)) {
    if constexpr (std::is_signed_v<T>) {
      ok = *i >= static_cast<int64_t>(Lim::min()) && *i <= static_cast<int64_t>(Lim::max());
    } else {
      ok = *i >= 0 && static_cast<uint64_t>(*i) <= static_cast<uint64_t>(Lim::max());
    }
    if (ok) return static_cast<T>(*i);
  } else if (const auto* u = std::get_if<uint64_t>(&x.v)) {
    ok = *u <= static_cast<uint64_t>(Lim::max());
    if (ok) return static_cast<T>(*u);
  } else {
    cannot_write(path, "key '" + key + "' is typed " + gguf_type_name(x.type) + " but does not hold an integer");
  }
  cannot_write(path, "key '" + key + "' holds a value out of range for " + gguf_type_name(x.type));
}

void put_value(Out& o, const GgufValue& x, const std::string& path, const std::string& key, int depth) {
  auto need_double = [&]() {
    const double* d = std::get_if<double>(&x.v);
    if (!d) cannot_write(path, "key '" + key + "' is typed " + gguf_type_name(x.type) + " but does not hold a float");
    return *d;
  };
  switch (x.type) {
    case GgufType::U8: o.put(int_in_range<uint8_t>(x, path, key)); return;
    case GgufType::I8: o.put(int_in_range<int8_t>(x, path, key)); return;
    case GgufType::U16: o.put(int_in_range<uint16_t>(x, path, key)); return;
    case GgufType::I16: o.put(int_in_range<int16_t>(x, path, key)); return;
    case GgufType::U32: o.put(int_in_range<uint32_t>(x, path, key)); return;
    case GgufType::I32: o.put(int_in_range<int32_t>(x, path, key)); return;
    case GgufType::U64: o.put(int_in_range<uint64_t>(x, path, key)); return;
    case GgufType::I64: o.put(int_in_range<int64_t>(x, path, key)); return;
    case GgufType::F32: o.put(static_cast<float>(need_double())); return;
    case GgufType::F64: o.put(need_double()); return;
    case GgufType::BOOL: {
      const bool* b = std::get_if<bool>(&x.v);
      if (!b) cannot_write(path, "key '" + key + "' is typed bool but does not hold one");
      o.put<uint8_t>(*b ? 1 : 0);
      return;
    }
    case GgufType::STRING: {
      const std::string* s = std::get_if<std::string>(&x.v);
      if (!s) cannot_write(path, "key '" + key + "' is typed string but does not hold one");
      o.put_string(*s);
      return;
    }
    case GgufType::ARRAY: {
      const auto* items = std::get_if<std::vector<GgufValue>>(&x.v);
      if (!items) cannot_write(path, "key '" + key + "' is typed array but does not hold one");
      if (depth >= 8) cannot_write(path, "key '" + key + "' nests arrays deeper than 8");
      if (static_cast<uint32_t>(x.elem_type) > static_cast<uint32_t>(GgufType::F64)) {
        cannot_write(path, "key '" + key + "' has an array of unknown type");
      }
      o.put<uint32_t>(static_cast<uint32_t>(x.elem_type));
      o.put<uint64_t>(items->size());
      for (const GgufValue& item : *items) {
        if (item.type != x.elem_type) {
          cannot_write(path, "key '" + key + "' is an array of " + gguf_type_name(x.elem_type) + " holding a " +
                                 gguf_type_name(item.type));
        }
        put_value(o, item, path, key, depth + 1);
      }
      return;
    }
  }
  cannot_write(path, "key '" + key + "' has an unknown type");
}

uint64_t pad_to(uint64_t n, uint64_t a) { return (a - n % a) % a; }

}  // namespace

void GgufWriter::set(const std::string& key, GgufValue value) {
  for (auto& kv : kv_) {
    if (kv.first == key) {
      kv.second = std::move(value);
      return;
    }
  }
  kv_.emplace_back(key, std::move(value));
}

void GgufWriter::add_tensor(const std::string& name, const Tensor& t) {
  for (const auto& e : tensors_) {
    if (e.name == name) fail("gguf", "tensor '" + name + "' added twice");
  }
  tensors_.push_back(Entry{name, t.dtype(), t.shape(), t, nullptr});
}

void GgufWriter::add_tensor(const std::string& name, DType dtype, Shape shape, TensorFill fill) {
  for (const auto& e : tensors_) {
    if (e.name == name) fail("gguf", "tensor '" + name + "' added twice");
  }
  if (!fill) fail("gguf", "tensor '" + name + "' has no fill function");
  tensors_.push_back(Entry{name, dtype, std::move(shape), Tensor(), std::move(fill)});
}

void GgufWriter::write(const std::string& path) const {
  // general.alignment, when set as a key, decides the padding; a different
  // set_alignment() as well is a contradiction we refuse to guess about.
  uint64_t alignment = alignment_;
  bool have_key = false;
  for (const auto& [key, value] : kv_) {
    if (key != "general.alignment") continue;
    have_key = true;
    if (!gguf_type_is_integer(value.type)) cannot_write(path, "general.alignment must be an integer");
    uint64_t a = int_in_range<uint64_t>(value, path, key);
    if (alignment_ != kDefaultAlignment && a != alignment_) {
      cannot_write(path, "general.alignment is " + std::to_string(a) + " but set_alignment(" +
                             std::to_string(alignment_) + ") was called");
    }
    alignment = a;
  }
  if (alignment == 0 || (alignment & (alignment - 1)) != 0) {
    cannot_write(path, "alignment " + std::to_string(alignment) + " is not a power of two");
  }
  // A custom alignment must be recorded or readers would assume 32.
  bool add_key = !have_key && alignment != kDefaultAlignment;

  Out o;
  o.buf.append("GGUF", 4);
  o.put<uint32_t>(3);
  o.put<uint64_t>(tensors_.size());
  o.put<uint64_t>(kv_.size() + (add_key ? 1 : 0));
  for (const auto& [key, value] : kv_) {
    o.put_string(key);
    o.put<uint32_t>(static_cast<uint32_t>(value.type));
    put_value(o, value, path, key, 0);
  }
  if (add_key) {
    o.put_string("general.alignment");
    o.put<uint32_t>(static_cast<uint32_t>(GgufType::U32));
    if (alignment > std::numeric_limits<uint32_t>::max()) cannot_write(path, "alignment too large");
    o.put<uint32_t>(static_cast<uint32_t>(alignment));
  }

  uint64_t offset = 0;
  for (const Entry& e : tensors_) {
    const int ndim = static_cast<int>(e.shape.size());
    if (ndim > 4) cannot_write(path, "tensor '" + e.name + "' has " + std::to_string(ndim) + " dimensions (at most 4)");
    int64_t block = dtype_block_size(e.dtype);
    int64_t row = ndim > 0 ? e.shape.back() : 1;
    if (row % block != 0) {
      cannot_write(path, "tensor '" + e.name + "' has rows of " + std::to_string(row) +
                             " values, not a multiple of the " + dtype_name(e.dtype) + " block size");
    }
    if (!e.fill && e.held.empty() && e.nbytes() > 0) cannot_write(path, "tensor '" + e.name + "' has no data");
    o.put_string(e.name);
    o.put<uint32_t>(static_cast<uint32_t>(ndim));
    for (int d = ndim - 1; d >= 0; --d) o.put<uint64_t>(static_cast<uint64_t>(e.shape[d]));
    o.put<uint32_t>(dtype_to_ggml_type(e.dtype));
    o.put<uint64_t>(offset);
    uint64_t n = static_cast<uint64_t>(e.nbytes());
    offset += n + pad_to(n, alignment);
  }
  o.buf.append(pad_to(o.buf.size(), alignment), '\0');

  const std::string tmp = path + ".tmp";
  std::FILE* fp = std::fopen(tmp.c_str(), "wb");
  if (!fp) cannot_write(path, std::strerror(errno));
  auto put_bytes = [&](const void* p, size_t n) {
    if (n == 0) return true;
    return std::fwrite(p, 1, n, fp) == n;
  };
  bool ok = put_bytes(o.buf.data(), o.buf.size());
  const std::string zeros(alignment < 4096 ? alignment : 4096, '\0');
  std::vector<uint8_t> made;  // the bytes of one filled tensor at a time
  for (const Entry& e : tensors_) {
    if (!ok) break;
    uint64_t n = static_cast<uint64_t>(e.nbytes());
    const void* bytes = e.held.data();
    if (e.fill) {
      made.resize(n);
      try {
        e.fill(made.data());
      } catch (...) {  // no half-written file left behind
        std::fclose(fp);
        std::remove(tmp.c_str());
        throw;
      }
      bytes = made.data();
    }
    ok = put_bytes(bytes, n);
    for (uint64_t p = pad_to(n, alignment); ok && p > 0;) {
      uint64_t k = std::min<uint64_t>(p, zeros.size());
      ok = put_bytes(zeros.data(), k);
      p -= k;
    }
  }
  int err = ok ? 0 : errno;
  if (std::fclose(fp) != 0 && ok) {
    ok = false;
    err = errno;
  }
  if (ok && std::rename(tmp.c_str(), path.c_str()) != 0) {
    ok = false;
    err = errno;
  }
  if (!ok) {
    std::remove(tmp.c_str());
    cannot_write(path, err ? std::strerror(err) : "write failed");
  }
}

}  // namespace peft
