#include "search/content_id.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <vector>

#include "core/error.h"
#include "io/mapped_file.h"

namespace peft {
namespace fs = std::filesystem;

namespace {

// Four independent 64-bit lanes, each a multiply-rotate mix of one 8-byte
// word in four (so the lanes run in parallel), folded into 128 bits at the
// end. Enough to tell files apart; not meant to resist an adversary.
struct Hasher {
  static constexpr uint64_t kMul = 0x9E3779B97F4A7C15ull;
  uint64_t lane[4] = {0x243F6A8885A308D3ull, 0x13198A2E03707344ull, 0xA4093822299F31D0ull, 0x082EFA98EC4E6C89ull};
  uint64_t total = 0;

  static uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
  static uint64_t mix(uint64_t h, uint64_t w) { return rotl(h ^ (w * kMul), 31) * 0xBF58476D1CE4E5B9ull; }

  void bytes(const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
      uint64_t w[4];
      std::memcpy(w, b + i, 32);
      for (int l = 0; l < 4; ++l) lane[l] = mix(lane[l], w[l]);
    }
    uint64_t tail[4] = {0, 0, 0, 0};
    std::memcpy(tail, b + i, n - i);
    for (int l = 0; l < 4; ++l) lane[l] = mix(lane[l], tail[l] ^ (uint64_t(n - i) << 56));
    total += n;
  }
  void str(const std::string& s) {
    uint64_t len = s.size();
    bytes(&len, sizeof len);
    bytes(s.data(), s.size());
  }
  std::string hex() const {
    uint64_t a = lane[0] ^ rotl(lane[2], 17) ^ total;
    uint64_t c = lane[1] ^ rotl(lane[3], 29);
    a = mix(a, c);
    c = mix(c, a);
    char buf[33];
    std::snprintf(buf, sizeof buf, "%016llx%016llx", (unsigned long long)a, (unsigned long long)c);
    return buf;
  }
};

void hash_file(Hasher& h, const fs::path& p) {
  std::string reason;
  auto m = MappedFile::try_open(p.string(), &reason);
  if (!m) fail("search", "cannot read '" + p.string() + "': " + reason);
  uint64_t size = m->size();
  h.bytes(&size, sizeof size);
  if (size) h.bytes(m->data(), m->size());
}

}  // namespace

std::string content_id(const std::string& path) {
  std::error_code ec;
  auto st = fs::status(path, ec);
  if (ec || !fs::exists(st)) fail("search", "cannot read '" + path + "': no such file or folder");
  Hasher h;
  if (!fs::is_directory(st)) {
    hash_file(h, path);
    return h.hex();
  }
  std::vector<std::string> files;
  for (auto it = fs::recursive_directory_iterator(path, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!name.empty() && name[0] == '.') {
      if (it->is_directory()) it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file()) files.push_back(fs::relative(it->path(), path).generic_string());
  }
  if (ec) fail("search", "cannot read '" + path + "': " + ec.message());
  std::sort(files.begin(), files.end());
  for (const auto& rel : files) {
    h.str(rel);
    hash_file(h, fs::path(path) / rel);
  }
  return h.hex();
}

}  // namespace peft
