#include "io/npy.h"

#include <cstring>

#include "core/error.h"
#include "io/atomic_file.h"

namespace peft {

namespace {
constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kAlign = 64;
}  // namespace

std::string npy_f32_bytes(const float* data, int64_t rows, int64_t cols) {
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + std::to_string(rows) + ", " +
                       std::to_string(cols) + "), }";
  // 6 magic + 2 version + 2 length bytes, then the header up to its '\n'.
  const size_t unpadded = 10 + header.size() + 1;
  header.append((kAlign - unpadded % kAlign) % kAlign, ' ');
  header += '\n';
  std::string out(kMagic, 6);
  out += '\x01';
  out += '\x00';
  const uint16_t len = static_cast<uint16_t>(header.size());
  out += static_cast<char>(len & 0xff);
  out += static_cast<char>(len >> 8);
  out += header;
  const size_t bytes = sizeof(float) * static_cast<size_t>(rows * cols);
  const size_t at = out.size();
  out.resize(at + bytes);
  // The machines we run on are little endian, as '<f4' says.
  if (bytes) std::memcpy(out.data() + at, data, bytes);
  return out;
}

void write_npy_f32(const std::string& path, const float* data, int64_t rows, int64_t cols) {
  write_file_atomic(path, npy_f32_bytes(data, rows, cols));
}

NpyMatrix read_npy_f32(const std::string& path) {
  const std::string b = read_file_bytes(path);
  auto bad = [&](const std::string& why) { fail("io", path + ": " + why); };
  if (b.size() < 10 || b.compare(0, 6, kMagic, 6) != 0) bad("not a .npy file");
  const int major = static_cast<unsigned char>(b[6]);
  size_t hlen = 0, start = 0;
  if (major == 1) {
    hlen = static_cast<unsigned char>(b[8]) | (static_cast<size_t>(static_cast<unsigned char>(b[9])) << 8);
    start = 10;
  } else if (major == 2 && b.size() >= 12) {
    for (int i = 0; i < 4; ++i) hlen |= static_cast<size_t>(static_cast<unsigned char>(b[8 + i])) << (8 * i);
    start = 12;
  } else {
    bad("unsupported .npy version " + std::to_string(major));
  }
  if (b.size() < start + hlen) bad("truncated header");
  const std::string h = b.substr(start, hlen);
  if (h.find("'descr': '<f4'") == std::string::npos) bad("not little-endian float32 ('<f4')");
  if (h.find("'fortran_order': False") == std::string::npos) bad("Fortran order is not supported");
  const size_t s = h.find("'shape': (");
  if (s == std::string::npos) bad("no shape in the header");
  NpyMatrix m;
  char* end = nullptr;
  const char* p = h.c_str() + s + 10;
  m.rows = std::strtoll(p, &end, 10);
  if (end == p || *end != ',') bad("not a 2-D array");
  p = end + 1;
  m.cols = std::strtoll(p, &end, 10);
  if (end == p || *end != ')') bad("not a 2-D array");
  const size_t bytes = sizeof(float) * static_cast<size_t>(m.rows * m.cols);
  if (b.size() != start + hlen + bytes) bad("data size does not match the shape");
  m.data.resize(static_cast<size_t>(m.rows * m.cols));
  if (bytes) std::memcpy(m.data.data(), b.data() + start + hlen, bytes);
  return m;
}

}  // namespace peft
